/**
 * Receiving a snapshot's bodies into the pristine store (the first step of checkout and update),
 * each verified against the manifest's hash. Interrupting it changes nothing but the pristine store
 * (and, for a new checkout, the working files its early writer made: src/wc/early-writes.ts).
 */
import { SnarfError, type SnarfRecord } from "../protocol/snarf.js";
import type { SnapshotManifest } from "../protocol/types.js";
import { WcError } from "./admin.js";
import { nodeCrypto } from "../protocol/crypto.js";
import { hasPristine, SMALL_BODY, storePristine, writePristineSync } from "./pristine.js";
import { PackWriter } from "./pristine-pack.js";
import type { EarlyWriter } from "./early-writes.js";

/**
 * Stores every file body of `snapshot` whose path is `wanted`; records the manifest does not list
 * are never stored. Fails (changing nothing in the checkout) on a malformed archive, other bytes
 * than announced, or a promised body that is missing.
 */
export async function receiveBodies(
  root: string,
  snapshot: { manifest: SnapshotManifest; records: AsyncGenerator<SnarfRecord> },
  opts: {
    wanted: (path: string) => boolean;
    progress?: (received: number, total: number, bytes: number, totalBytes: number) => void;
    /** A new checkout's empty store: small bodies go into its pack (src/wc/pristine-pack.ts). */
    pack?: boolean;
    /** A new checkout's worker that creates the working files of small bodies as they arrive (src/wc/early-writes.ts). */
    early?: EarlyWriter;
  },
): Promise<void> {
  const { manifest } = snapshot;
  const wanted = opts.wanted;
  const remoteByPath = new Map(manifest.entries.map((e) => [e.path, e]));
  const total = manifest.entries.filter((e) => e.kind === "file" && wanted(e.path)).length;
  let received = 0;
  // Bytes as well as files, so one large file does not sit silent.
  const totalBytes = manifest.entries.reduce((sum, e) => sum + (e.kind === "file" && wanted(e.path) ? e.size ?? 0 : 0), 0);
  let bytes = 0;
  const counted = async function* (body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      bytes += chunk.length;
      opts.progress?.(received, total, bytes, totalBytes);
      yield chunk;
    }
  };
  // Small bodies are hashed here and written at once, in turn (see writePristineSync for why
  // not in parallel), or gathered into the new checkout's pack; the socket buffers the next
  // bodies meanwhile.
  const pack = opts.pack ? new PackWriter(root) : undefined;
  /** Hashes whose pristine copy this receive stored. */
  const stored = new Set<string>();
  const badContent = (path: string) => new WcError("bad-archive", `the server sent other bytes for ${path} than its manifest announced; nothing in the checkout was changed`);
  try {
    for await (const record of snapshot.records) {
      const remote = remoteByPath.get(record.path);
      if (record.kind !== "file" || !remote || remote.kind !== "file") continue; // records the manifest does not list are never written
      if (!wanted(remote.path)) continue;
      if (record.size !== remote.size) {
        throw new WcError("bad-archive", `the server sent ${record.size} bytes for ${remote.path} but its manifest declared ${remote.size}; nothing in the checkout was changed`);
      }
      const body = opts.progress ? counted(record.body) : record.body;
      if (record.size <= SMALL_BODY) {
        const parts: Buffer[] = [];
        const hasher = nodeCrypto().createHash("sha256");
        for await (const chunk of body) {
          hasher.update(chunk);
          parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        }
        if (hasher.digest("hex") !== remote.hash) throw badContent(remote.path);
        const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        if (pack) pack.add(remote.hash!, data);
        else writePristineSync(root, remote.hash!, data);
        stored.add(remote.hash!);
        const behind = opts.early?.add(remote.path, remote.hash!, data);
        if (behind) await behind;
      } else {
        await storePristine(root, body, remote.hash, record.size).catch((error: unknown) => {
          if (error instanceof WcError && error.code === "bad-content") throw badContent(remote.path);
          throw error;
        });
        stored.add(remote.hash!);
      }
      opts.progress?.(++received, total, bytes, totalBytes);
    }
    pack?.finish();
  } catch (error) {
    pack?.abandon();
    if (error instanceof SnarfError) throw new WcError("bad-archive", `the server sent a malformed archive (${error.message}); nothing in the checkout was changed`);
    throw error;
  }

  // A body the manifest promised but the archive lacked must fail here, not halfway through the journal.
  // Bodies stored just now are there (checked, without asking the disk 20,000 times).
  for (const remote of manifest.entries) {
    if (remote.kind === "file" && wanted(remote.path) && !stored.has(remote.hash!) && !(await hasPristine(root, remote.hash!))) {
      throw new WcError("bad-archive", `the server's archive lacks the content of ${remote.path} (or sent other bytes); nothing was changed`);
    }
  }
}
