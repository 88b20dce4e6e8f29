/**
 * The in-process revision notifier behind `@@events`: every successful commit through the store
 * the HTTP app was given publishes its revision (see `notifyingStore`), and subscribers (open event
 * streams) are woken. Commits made by another process on the same database (`zsync-server --stdio`
 * under sshd runs one process per connection) are noticed by a cheap poll of the head revision,
 * which runs only while someone is subscribed.
 */
import type { Store } from "../store/types.js";

/** Default interval of the cross-process head poll. */
export const DEFAULT_HEAD_POLL_MS = 1000;

export interface RevisionNotifier {
  /** Tells subscribers that `revision` exists now. Call after a commit succeeded. */
  publish(revision: number): void;
  /**
   * Calls `listener` for each published revision (and for revisions found by the head poll);
   * returns the unsubscribe function.
   */
  subscribe(listener: (revision: number) => void): () => void;
  /** Runs `listener` when the notifier closes (server shutdown); returns the removal function. */
  onClose(listener: () => void): () => void;
  /** True once `close` was called. */
  readonly closed: boolean;
  /** Ends every subscription (each stream ends cleanly) and stops polling. */
  close(): void;
}

export interface NotifierOptions {
  /** Reads the head revision, for the cross-process poll (none: in-process commits only). */
  head?: () => Promise<number>;
  /** Interval of that poll (default 1 s). */
  pollMs?: number;
}

/** Creates a notifier. */
export function createRevisionNotifier(options: NotifierOptions = {}): RevisionNotifier {
  const listeners = new Set<(revision: number) => void>();
  const closeListeners = new Set<() => void>();
  let closed = false;
  let known = -1;
  let timer: NodeJS.Timeout | undefined;

  const emit = (revision: number) => {
    if (revision > known) known = revision;
    for (const listener of [...listeners]) listener(revision);
  };
  const poll = async () => {
    try {
      const head = await options.head!();
      if (head > known) emit(head);
    } catch {
      // A store closing under the poll: the next tick (if any) tries again.
    }
  };
  const updateTimer = () => {
    if (!options.head || closed) return;
    if (listeners.size > 0 && timer === undefined) {
      timer = setInterval(() => void poll(), options.pollMs ?? DEFAULT_HEAD_POLL_MS);
      timer.unref();
    } else if (listeners.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    publish(revision) {
      if (!closed) emit(revision);
    },
    subscribe(listener) {
      listeners.add(listener);
      updateTimer();
      return () => {
        listeners.delete(listener);
        updateTimer();
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
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      listeners.clear();
      for (const listener of [...closeListeners]) listener();
      closeListeners.clear();
    },
  };
}

/**
 * `store` with a `commit` that publishes the new revision to `notifier` once it succeeded.
 * Everything else is the store itself (bound methods, so class stores keep their `this`).
 */
export function notifyingStore<S extends Pick<Store, "commit">>(store: S, notifier: RevisionNotifier): S {
  return new Proxy(store, {
    get(target, property) {
      if (property === "commit") {
        return async (...args: Parameters<Store["commit"]>) => {
          const done = await target.commit(...args);
          notifier.publish(done.revision);
          return done;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
