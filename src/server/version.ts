/** The package version, read once from package.json beside dist/. */
import { readFileSync } from "node:fs";

/** Version string of this zsync installation. */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
