/**
 * Usage errors and help texts: a usage error is one line saying what is wrong plus a hint
 * (`zsync help CMD`), never the whole help page; typos of a verb suggest the closest verb;
 * every command's `--help` carries one or two examples.
 */
import type { Argv, CommandModule } from "yargs";

/** Verbs people bring from svn and git that are spelled differently here. */
const SYNONYMS: Record<string, string> = {
  clone: "checkout",
  pull: "update",
  fetch: "update",
  push: "commit",
  rename: "move",
  blame: "log",
  show: "cat",
  ci: "commit",
};

/** One or two examples per command (shown by `zsync CMD --help`). */
export const EXAMPLES: Record<string, [string, string][]> = {
  checkout: [
    ["zsync checkout https://host/site/docs", "check out a server folder into ./docs"],
    ["zsync co zsync+ssh://alice@host:2200/demo work", "check out over ssh into ./work"],
  ],
  status: [
    ["zsync status", "what changed in this checkout"],
    ["zsync status -u ./docs", "also ask the server what is out of date (*)"],
  ],
  update: [
    ["zsync update", "bring the server's changes into this checkout"],
    ["zsync up -r 12 index.html", "one file as it was at revision 12"],
  ],
  commit: [
    ['zsync commit -m "Fix the typo"', "send every local change as one revision"],
    ["zsync ci ./work/page.html", "commit one file; the editor opens for the message on a terminal"],
  ],
  watch: [["zsync watch", "commit and update automatically while files change"]],
  add: [
    ["zsync add new-page.html images/", "schedule a file and a folder (recursively) for addition"],
  ],
  mkdir: [["zsync mkdir archive/2024", "make and schedule a folder (parents too)"]],
  remove: [
    ["zsync rm old.html", "schedule a file for deletion (the local file goes too)"],
    ["zsync rm --keep-local draft.txt", "stop versioning a file but keep it on disk"],
  ],
  copy: [["zsync copy template.html new.html", "copy a file with its local edits and metadata, scheduled for addition"]],
  move: [
    ["zsync move old.html new.html", "rename a file; commit sends the add and the delete together"],
    ["zsync mv images/logo.png assets/", "move a file into a versioned folder"],
  ],
  revert: [
    ["zsync revert page.html", "throw away local edits to one file"],
    ["zsync revert -R .", "throw away every local change"],
  ],
  resolve: [
    ["zsync resolve", "walk through each conflict on a terminal"],
    ["zsync resolve --accept mine-full page.html", "keep your version of one file"],
  ],
  cleanup: [["zsync cleanup", "finish an interrupted command and remove temporary files"]],
  info: [["zsync info page.html", "URL, revision and state of one path"]],
  config: [["zsync config policy images/ theirs", "let the server's version win for images/"]],
  diff: [
    ["zsync diff", "local changes as a unified diff"],
    ["zsync diff -r 10:12 page.html", "what changed between revisions 10 and 12"],
  ],
  log: [
    ["zsync log -l 5", "the last five revisions"],
    ["zsync log -v -r 10:12 https://host/site", "revisions 10 to 12 with changed paths, from the server"],
  ],
  cat: [
    ["zsync cat -r 3 page.html", "a file as it was at revision 3"],
    ["zsync cat --meta zsync+ssh://host/site/page.html", "a file's metadata, from the server"],
  ],
  list: [
    ["zsync ls", "the versioned entries here"],
    ["zsync ls -v https://host/site", "a server folder, with revisions and sizes"],
  ],
  import: [["zsync import https://host/site/new ./site", "add the local tree ./site to the server as the new folder new, in one revision"]],
  merge: [["zsync merge ../draft", "bring the local changes of the checkout ../draft into this one"]],
  login: [
    ["zsync login https://zsync.example.org -u ann", "log in, asking for the password"],
    ['printf %s "$PW" | zsync login zsync+ssh://zsync.example.org -u ann --password-stdin', "log in from a script"],
  ],
  logout: [["zsync logout https://host", "revoke and forget the stored login for a server"]],
  notes: [
    ["zsync notes list", "the Markdown notes in this checkout"],
    ['zsync notes add "Shopping list"', "make a new note"],
  ],
  contacts: [
    ["zsync contacts list", "the contacts in this checkout"],
    ['zsync contacts add "Ada Lovelace" --email ada@example.org', "make a new contact"],
  ],
};

function verbOf(module: CommandModule): string {
  return String(module.command).split(" ")[0]!;
}

/** The command module with its examples added to its builder. */
export function withExamples(module: CommandModule): CommandModule {
  const examples = EXAMPLES[verbOf(module)] ?? [];
  const builder = module.builder;
  if (examples.length === 0 || typeof builder !== "function") return module;
  return {
    ...module,
    builder: (y: Argv) => {
      const built = builder(y) as Argv;
      return examples.reduce((acc, [cmd, text]) => acc.example(cmd, text), built);
    },
  };
}

/** Every verb and alias, each mapped to its command's name. */
export function verbTable(commands: CommandModule[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const module of commands) {
    const name = verbOf(module);
    table.set(name, name);
    const aliases = module.aliases === undefined ? [] : Array.isArray(module.aliases) ? module.aliases : [module.aliases];
    for (const alias of aliases) table.set(alias, name);
  }
  table.set("help", "help");
  return table;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? 0 : Infinity;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1), swap === 0 ? diagonal : Infinity);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * The verb `typed` most likely meant, or undefined: a known svn/git synonym, else the closest
 * command name (ties go to the full name, never to a two-letter alias that happens to be near).
 */
export function suggestVerb(typed: string, verbs: Map<string, string>): string | undefined {
  const word = typed.toLowerCase();
  if (verbs.has(word)) return verbs.get(word);
  if (SYNONYMS[word] && verbs.has(SYNONYMS[word]!)) return SYNONYMS[word];
  let best: { name: string; score: number } | undefined;
  for (const [verb, name] of verbs) {
    // Prefixes count as close ("comm" → commit); aliases shorter than 3 letters only match exactly.
    if (verb.length < 3) continue;
    const score = verb.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, verb);
    if (!best || score < best.score || (score === best.score && verb === name && best.name !== verb)) best = { name, score };
  }
  const limit = word.length <= 4 ? 1 : 2;
  return best && best.score <= limit ? best.name : undefined;
}

/** `<paths..>` → `PATHS…`, `[dir]` → `[DIR]`, as usage lines show arguments. */
function shownArg(word: string): string {
  const name = word.replace(/[<>[\]]|\.\./g, "").toUpperCase() + (word.includes("..") ? "…" : "");
  return word.startsWith("[") ? `[${name}]` : name;
}

/** A usage error, as the user sees it: what is wrong, then where to read more. */
export function usageError(message: string, opts: { argv: string[]; verbs: Map<string, string>; commands?: CommandModule[] }): { message: string; hint: string } {
  const words = opts.argv.filter((a) => !a.startsWith("-"));
  const first = words[0];
  const known = first === undefined ? undefined : opts.verbs.get(first);
  if (first !== undefined && known === undefined) {
    const guess = suggestVerb(first, opts.verbs);
    return {
      message: `unknown command '${first}'${guess ? `; did you mean '${guess}'?` : ""}`,
      hint: "see `zsync help` for the list of commands",
    };
  }
  const missing = /^Not enough non-option arguments: got (\d+)/.exec(message);
  const template = opts.commands?.find((c) => verbOf(c) === known)?.command;
  if (missing && template !== undefined) {
    const words = String(template).split(" ").slice(1);
    const absent = words.filter((w) => w.startsWith("<")).slice(Number(missing[1])).map(shownArg);
    if (absent.length > 0) message = `missing ${absent.join(" and ")} (usage: zsync ${[known!, ...words.map(shownArg)].join(" ")})`;
  }
  const oneLine = message.split("\n").map((l) => l.trim()).filter(Boolean).join("; ");
  const wanted = known && known !== "help" ? known : undefined;
  return {
    message: oneLine.charAt(0).toLowerCase() + oneLine.slice(1),
    hint: wanted ? `see \`zsync help ${wanted}\`` : "see `zsync help`",
  };
}
