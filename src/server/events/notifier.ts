/**
 * The revision notifier behind `@@events`: one subscription to the store's commit feed
 * (`Store.subscribeCommits`), held while any event stream is open and shared by all of them.
 * The store reports every commit on it, whichever server made it: PostgreSQL through
 * LISTEN/NOTIFY (every server on the database), SQLite in-process at once and other processes'
 * commits (sshd's `zsync-server --stdio`) through its `data_version` check. Streams re-read the
 * head on each call, so a call may stand for several revisions.
 */
import type { Store } from "../store/types.js";

export interface RevisionNotifier {
  /**
   * Calls `listener` for each new revision the store reports (and once with the head when the
   * store subscription starts or reconnects); returns the unsubscribe function.
   */
  subscribe(listener: (revision: number) => void): () => void;
  /** Runs `listener` when the notifier closes (server shutdown); returns the removal function. */
  onClose(listener: () => void): () => void;
  /** True once `close` was called. */
  readonly closed: boolean;
  /** Ends every subscription (each stream ends cleanly) and the store subscription. */
  close(): void;
}

/** Creates the notifier of `store`'s commits. */
export function createRevisionNotifier(store: Pick<Store, "subscribeCommits">): RevisionNotifier {
  const listeners = new Set<(revision: number) => void>();
  const closeListeners = new Set<() => void>();
  let closed = false;
  let unsubscribeStore: (() => void) | undefined;

  const emit = (revision: number) => {
    for (const listener of [...listeners]) listener(revision);
  };
  const updateStoreSubscription = () => {
    if (listeners.size > 0 && !unsubscribeStore && !closed) {
      unsubscribeStore = store.subscribeCommits(emit);
    } else if ((listeners.size === 0 || closed) && unsubscribeStore) {
      unsubscribeStore();
      unsubscribeStore = undefined;
    }
  };

  return {
    subscribe(listener) {
      if (closed) return () => {};
      listeners.add(listener);
      updateStoreSubscription();
      return () => {
        listeners.delete(listener);
        updateStoreSubscription();
      };
    },
    onClose(listener) {
      if (closed) {
        queueMicrotask(listener);
        return () => {};
      }
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    get closed() {
      return closed;
    },
    close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      updateStoreSubscription();
      for (const listener of [...closeListeners]) listener();
      closeListeners.clear();
    },
  };
}
