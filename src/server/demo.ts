/**
 * Seeds the demo: the account zsync/zsync and the folder /demo with text, HTML, an image and
 * metadata. Idempotent: a store that has them already is left alone.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ObjectMeta } from "../protocol/types.js";
import { hashPassword } from "./auth.js";
import type { Store, StoreChange } from "./store/types.js";

/** Where the seed files live (shipped in the package's demo/ folder). */
export const DEMO_SEED_DIR = fileURLToPath(new URL("../../demo/seed/", import.meta.url));

interface SeedPlan {
  folders: Record<string, ObjectMeta | null>;
  files: Record<string, ObjectMeta>;
}

/** Creates what the demo needs that is not there yet; returns what it did. */
export async function seedDemo(store: Store): Promise<string[]> {
  const done: string[] = [];
  if (!(await store.getAccount("zsync"))) {
    await store.addAccount("zsync", await hashPassword("zsync"), "manager");
    done.push("created account zsync (password zsync)");
  }
  if (!(await store.getObject("demo"))) {
    const plan = JSON.parse(await readFile(DEMO_SEED_DIR + "seed.json", "utf8")) as SeedPlan;
    const changes: StoreChange[] = [];
    for (const [path, meta] of Object.entries(plan.folders)) {
      changes.push({ op: "add", path: "demo" + (path ? "/" + path : ""), kind: "folder", meta: meta ?? undefined });
    }
    for (const [path, meta] of Object.entries(plan.files)) {
      const file = DEMO_SEED_DIR + path;
      const hash = createHash("sha256").update(await readFile(file)).digest("hex");
      await store.putBlobFromFile(hash, (await stat(file)).size, file);
      changes.push({ op: "add", path: `demo/${path}`, kind: "file", hash, meta });
    }
    const { revision } = await store.commit({ author: "zsync", note: "demo content", changes });
    done.push(`seeded /demo in revision ${revision}`);
  }
  return done;
}
