/**
 * Building blocks for end-to-end working-copy scenarios: server-side changes through the
 * protocol client, checkouts through the built binary, and byte-exact snapshots of a checkout.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectMeta } from "../../src/protocol/types.js";
import type { SnarfInput } from "../../src/protocol/snarf.js";
import { createZsyncClient, type ZsyncClient } from "../../src/transport/http/client.js";
import { checkout } from "../../src/wc/checkout.js";
import { zsync, zsyncJson, type CliResult } from "./cli.js";
import { tempDir, type TestServer } from "./server.js";

export const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Content of a file to create: text or bytes. `null` in a tree means an (empty) folder. */
export type Content = string | Buffer;

/** One server-side change set, applied as one commit. */
export interface RemoteEdit {
  /** New content of existing files. */
  modify?: Record<string, Content>;
  /** New files (content) or folders (null). */
  add?: Record<string, Content | null>;
  /** Files or folders to delete. */
  remove?: string[];
  /** New metadata of existing or added objects (null removes it). */
  meta?: Record<string, ObjectMeta | null>;
}

/** The server side of a scenario: the protocol client acting as "another user". */
export class Remote {
  readonly client: ZsyncClient;
  constructor(readonly server: TestServer) {
    this.client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  }

  /** URL to check out `folder` with the demo account. */
  url(folder: string): string {
    const u = new URL(this.server.url);
    return `http://zsync@${u.host}/${folder}`;
  }

  /** Creates the top-level folder `name` holding `tree` (paths relative to it). */
  async createFolder(name: string, tree: Record<string, Content | null>, meta: Record<string, ObjectMeta> = {}): Promise<number> {
    const records: SnarfInput[] = [{ kind: "dir", path: name }];
    for (const [path, content] of Object.entries(tree)) {
      if (content === null) records.push({ kind: "dir", path: `${name}/${path}` });
      else records.push({ kind: "file", path: `${name}/${path}`, size: Buffer.byteLength(content), body: content });
    }
    const prefixed = Object.fromEntries(Object.entries(meta).map(([p, m]) => [p === "" ? name : `${name}/${p}`, m]));
    const result = await this.client.checkin("", name, (async function* () { yield* records; })(), { note: `create ${name}`, meta: prefixed });
    return result.revision;
  }

  /** The server's current entries of `folder` (path → entry). */
  async entries(folder: string) {
    const { manifest, records } = await this.client.snapshot(folder);
    await records.return(undefined);
    return new Map(manifest.entries.map((e) => [e.path, e]));
  }

  /** Applies `edit` to `folder` as one commit; returns the new revision. */
  async change(folder: string, edit: RemoteEdit): Promise<number> {
    const current = await this.entries(folder);
    const base = (path: string) => {
      const e = current.get(path);
      if (!e) throw new Error(`test bug: ${folder}/${path} is not on the server`);
      return e.revision;
    };
    const changes: Parameters<ZsyncClient["commit"]>[1]["changes"] = [];
    const bodies: SnarfInput[] = [];
    const touched = new Map<string, number>();
    for (const [path, content] of Object.entries(edit.modify ?? {})) {
      touched.set(path, changes.length);
      changes.push({ path, kind: "file", schedule: "modified", baseRevision: base(path), content: true });
      bodies.push({ kind: "file", path, size: Buffer.byteLength(content), body: content });
    }
    for (const [path, content] of Object.entries(edit.add ?? {})) {
      touched.set(path, changes.length);
      if (content === null) changes.push({ path, kind: "folder", schedule: "added" });
      else {
        changes.push({ path, kind: "file", schedule: "added", content: true });
        bodies.push({ kind: "file", path, size: Buffer.byteLength(content), body: content });
      }
    }
    for (const [path, meta] of Object.entries(edit.meta ?? {})) {
      const at = touched.get(path);
      if (at !== undefined) changes[at].meta = meta;
      else changes.push({ path, kind: current.get(path)!.kind, schedule: "modified", baseRevision: base(path), meta });
    }
    for (const path of edit.remove ?? []) changes.push({ path, kind: current.get(path)!.kind, schedule: "removed", baseRevision: base(path) });
    const result = await this.client.commit(folder, { protocol: 1, note: "remote change", changes }, bodies);
    return result.revision;
  }
}

/** Checks out `url` into a fresh directory through the binary; returns the checkout's path. */
export async function checkoutFresh(url: string, prefix = "zsync-wc-"): Promise<string> {
  const parent = await tempDir(prefix);
  const dir = join(parent, "wc");
  const result = await zsync(["checkout", url, dir], { cwd: parent });
  if (result.code !== 0) throw new Error(`checkout of ${url} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return dir;
}

/**
 * Checks out `folder` into a fresh directory in-process (the same code as `zsync checkout`,
 * without the cost of starting the binary — for tests whose subject is what comes after).
 */
export async function checkoutInProcess(remote: Remote, folder: string, prefix = "zsync-wc-", under?: string): Promise<string> {
  const parent = under ? await mkdtemp(join(under, prefix)) : await tempDir(prefix);
  const dir = join(parent, "wc");
  await checkout({ client: remote.client, origin: remote.server.url, path: folder, user: "zsync", dir });
  return dir;
}

/** Every regular file under `dir` (relative `/` paths → bytes); `.zsync/` only with `admin`. */
export function readTree(dir: string, opts: { admin?: boolean } = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      if (rel === "" && name === ".zsync" && !opts.admin) continue;
      const s = lstatSync(join(dir, path));
      if (s.isDirectory()) walk(path);
      else files.set(path, readFileSync(join(dir, path)));
    }
  };
  walk("");
  return files;
}

/** Every path (files and folders, `/`-suffixed folders) under `dir`, `.zsync/` included. */
export function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      if (lstatSync(join(dir, path)).isDirectory()) {
        out.push(path + "/");
        walk(path);
      } else out.push(path);
    }
  };
  walk("");
  return out;
}

/** The bytes of a working file, or undefined when it does not exist. */
export function fileAt(dir: string, path: string): Buffer | undefined {
  const absolute = join(dir, path);
  return existsSync(absolute) && lstatSync(absolute).isFile() ? readFileSync(absolute) : undefined;
}

export interface StatusItem {
  path: string;
  kind: "file" | "folder";
  status: string;
  meta: "modified" | "unchanged" | "conflict";
  conflict?: { kind: string; artifacts: string[]; reason?: string };
  metaError?: string;
}

/** `zsync status --json` (with `-v` when `verbose`), checked to succeed. */
export async function statusOf(dir: string, verbose = false): Promise<{ revision: number; items: StatusItem[]; byPath: Map<string, StatusItem> }> {
  const { code, json, stderr } = await zsyncJson<{ revision: number; items: StatusItem[] }>(["status", ...(verbose ? ["-v"] : [])], { cwd: dir });
  if (code !== 0) throw new Error(`status failed (${code}): ${stderr}`);
  return { ...json, byPath: new Map(json.items.map((i) => [i.path, i])) };
}

export interface UpdateChange {
  path: string;
  kind: "file" | "folder";
  content: string | null;
  meta: string | null;
  reason?: string;
}

export interface UpdateReport {
  revision: number;
  target: number;
  conflicts: number;
  changes: UpdateChange[];
  savedAside: { path: string; savedAs: string }[];
  skipped: string[];
}

/** `zsync update --json`: exit code, the report, and the report's changes by path. */
export async function updateOf(dir: string, args: string[] = []): Promise<{ code: number; report: UpdateReport; stderr: string; byPath: Map<string, UpdateChange> }> {
  const { code, json, stderr } = await zsyncJson<UpdateReport>(["update", ...args], { cwd: dir });
  return { code, report: json, stderr, byPath: new Map((json.changes ?? []).map((c) => [c.path, c])) };
}

/** Runs the binary and fails with its output when the exit code is not `expect`. */
export async function run(args: string[], cwd: string, expect = 0, env?: Record<string, string | undefined>): Promise<CliResult> {
  const result = await zsync(args, { cwd, env });
  if (result.code !== expect) throw new Error(`zsync ${args.join(" ")} exited ${result.code}, expected ${expect}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** True when the CLI has `command` (some commands are still being written). */
export async function hasCommand(command: string, cwd: string): Promise<boolean> {
  const result = await zsync([command, "--help"], { cwd });
  return result.code === 0 && !/Unknown argument|Unknown command|name a command/i.test(result.stderr);
}
