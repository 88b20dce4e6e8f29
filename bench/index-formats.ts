/**
 * The checkout index, measured in-process (docs/ARCHITECTURE.md "The index" quotes these numbers):
 * the previous `entries.json` (parse + per-entry validation), `.zsync/index` (CRC-sealed JSON
 * lines, src/wc/index-file.ts) and a better-sqlite3 table, at 2k / 20k / 100k entries:
 * open + read everything, and a 1-entry change (time and bytes written).
 *
 *   node --import tsx bench/index-formats.ts [--runs N]
 *
 * Never part of `npm test`.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { adminPaths } from "../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../src/wc/entries.js";

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function makeEntries(n: number): Map<string, Entry> {
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  const dirs = Math.max(10, Math.round(n / 100));
  for (let d = 0; d < dirs; d++) entries.set(`d${d}`, { kind: "folder", revision: 1 });
  for (let i = 0; entries.size < n; i++) {
    const hash = sha(String(i));
    entries.set(`d${i % dirs}/file-${i}.txt`, {
      kind: "file",
      revision: 1 + (i % 7),
      hash,
      size: 100 + i,
      cache: { size: 100 + i, mtimeNs: "1733390000123456789", ino: 1000000 + i, hash },
    });
  }
  return entries;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(f: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const rows: string[][] = [];
for (const n of [2000, 20000, 100000]) {
  const root = mkdtempSync(join(tmpdir(), "zsync-index-bench-"));
  const paths = adminPaths(root);
  mkdirSync(paths.admin, { recursive: true });
  const entries = makeEntries(n);
  const some = [...entries.keys()][Math.floor(n / 2)];

  // The previous format: one JSON file, validated entry by entry on every read.
  const legacy = JSON.stringify({ format: 1, revision: 1, entries: Object.fromEntries(entries) });
  const legacyRead: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    rmSync(paths.index, { force: true });
    writeFileSync(paths.entries, legacy);
    // Reading an old checkout parses and validates every entry, then upgrades it (one write).
    legacyRead.push(await time(() => loadEntries(root)));
  }

  // .zsync/index: read everything; change one entry.
  await saveEntries(root, { revision: 1, entries });
  const indexRead: number[] = [];
  for (let r = 0; r < RUNS; r++) indexRead.push(await time(() => loadEntries(root)));
  const before = statSync(paths.index).size;
  const loaded = await loadEntries(root);
  const indexWrite: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const e = loaded.entries.get(some)!;
    e.revision = 100 + r;
    indexWrite.push(await time(() => saveEntries(root, loaded, { changed: [some] })));
  }
  const indexBytes = (statSync(paths.index).size - before) / RUNS;
  const fullSave: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const e = loaded.entries.get(some)!;
    e.revision = 200 + r;
    fullSave.push(await time(() => saveEntries(root, loaded)));
  }

  // SQLite (better-sqlite3, WAL): one row per path holding the entry JSON.
  const dbFile = join(root, "index.sqlite");
  {
    const db = new Database(dbFile);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE entries (path TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID");
    const insert = db.prepare("INSERT INTO entries VALUES (?, ?)");
    db.transaction(() => {
      for (const [path, entry] of entries) insert.run(path, JSON.stringify(entry));
    })();
    db.close();
  }
  const sqliteRead: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    sqliteRead.push(
      await time(() => {
        const db = new Database(dbFile);
        const map = new Map<string, Entry>();
        for (const row of db.prepare("SELECT path, json FROM entries").raw().iterate() as Iterable<[string, string]>) map.set(row[0], JSON.parse(row[1]) as Entry);
        db.close();
      }),
    );
  }
  const sqliteWrite: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    sqliteWrite.push(
      await time(() => {
        const db = new Database(dbFile);
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
        db.prepare("UPDATE entries SET json = ? WHERE path = ?").run(JSON.stringify({ ...entries.get(some), revision: 300 + r }), some);
        db.close();
      }),
    );
  }
  rows.push([
    String(n),
    median(legacyRead).toFixed(1),
    median(indexRead).toFixed(1),
    median(sqliteRead).toFixed(1),
    median(indexWrite).toFixed(2),
    median(sqliteWrite).toFixed(2),
    median(fullSave).toFixed(1),
    `${Math.round(indexBytes)} B`,
    `${(statSync(paths.index).size / 1048576).toFixed(1)} MiB`,
  ]);
  rmSync(root, { recursive: true, force: true });
}

const header = ["entries", "entries.json read + upgrade ms", "index read ms", "sqlite read ms", "index 1-entry save ms", "sqlite 1-row update ms", "index diff-all save ms", "index bytes/save", "index size"];
console.log(header.join(" | "));
for (const row of rows) console.log(row.join(" | "));
