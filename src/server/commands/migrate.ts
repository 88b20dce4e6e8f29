/** `zsync-server migrate`: bring the store's schema to this version without serving. */
import { openStore } from "../store/open.js";
import type { MigrationReport } from "../store/migration-report.js";
import { storeSpec, type ServerArgv } from "./common.js";

/** Registers the command. */
export function migrateCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "migrate",
    "create or upgrade the store's schema (serve does this too at start) and print its version",
    (y) => y,
    async (args) => {
      let report: MigrationReport | undefined;
      const store = await openStore(storeSpec(args), { migrated: (r) => (report = r) });
      await store.close();
      const r = report!;
      if (r.from === r.to) console.log(`schema is up to date (version ${r.to})`);
      else if (r.from === 0) console.log(`created the schema (version ${r.to})`);
      else console.log(`migrated the schema from version ${r.from} to ${r.to}`);
    },
  );
}
