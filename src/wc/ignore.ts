/**
 * Ignore rules for unversioned files: built-in defaults plus `.zsyncignore` files (gitignore
 * syntax, via the `ignore` package). Versioned paths are never ignored.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ignore, { type Ignore } from "ignore";
import { ADMIN_DIR } from "./admin.js";

/** Always ignored: the admin area, other VCS areas, editor backups and safe-write temp files, our temp files. */
export const DEFAULT_IGNORES = [
  `${ADMIN_DIR}/`,
  ".git/",
  ".svn/",
  "*~",
  "*.swp",
  "*.swo",
  "*.swx",
  ".#*",
  "#*#",
  ".DS_Store",
  "*___jb_tmp___",
  "*___jb_old___",
  "*.zsync-tmp-*",
];

/** A matcher for one checkout: `ignored("a/b.txt", false)`. Reads `.zsyncignore` files lazily per directory. */
export function createIgnoreMatcher(root: string): (path: string, isDir: boolean) => boolean {
  const perDir = new Map<string, Ignore | null>();
  const load = (dir: string): Ignore | null => {
    if (!perDir.has(dir)) {
      let rules: Ignore | null = null;
      try {
        rules = ignore().add(readFileSync(join(root, dir, ".zsyncignore"), "utf8"));
      } catch {
        rules = null;
      }
      perDir.set(dir, rules);
    }
    return perDir.get(dir)!;
  };
  const defaults = ignore().add(DEFAULT_IGNORES);
  return function ignored(path, isDir) {
    const test = (rules: Ignore, relative: string) => rules.ignores(isDir ? relative + "/" : relative);
    if (test(defaults, path)) return true;
    // Each .zsyncignore applies to paths below its directory, like .gitignore.
    const parts = path.split("/");
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const rules = load(dir);
      if (rules && test(rules, parts.slice(i).join("/"))) return true;
    }
    return false;
  };
}
