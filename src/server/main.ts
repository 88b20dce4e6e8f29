/** Entry point of the zsync-server binary. */
import { hideBin } from "yargs/helpers";
import { main } from "./cli.js";

main(hideBin(process.argv)).catch((error: unknown) => {
  console.error(`zsync-server: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
