// A complete zsync content type: to-do lists in `.todo` files, one task a line:
//
//   [ ] buy milk
//   [x] call Ann
//
// Load it with `zsync-server serve --type-module examples/todo-type/todo-type.js`. A file with
// the content type text/x-todo (what `zsync add` records for *.todo once the client knows the
// extension, or `zsync add --type text/x-todo FILE`) is then parsed on every commit: a line that
// is not a task is refused with its line number. Tasks are merged one by one: ticking a task on
// one side and renaming another on the other side merge cleanly. See docs/CONTENT-TYPES.md.

/** @typedef {{ done: boolean, text: string }} Task */
/** @typedef {{ tasks: Task[] }} TodoList */

const TASK = /^\[( |x)\] (.+)$/;

/** Thrown for a line that is not a task; `line` is 1-based, as the server reports it. */
class TodoSyntaxError extends Error {
  /** @param {number} line @param {string} message */
  constructor(line, message) {
    super(message);
    this.line = line;
  }
}

/** @type {import("../../src/server/types/interface.js").ContentTypeDefinition<TodoList>} */
const todoType = {
  name: "todo",
  mediaTypes: ["text/x-todo"],
  extensions: [".todo"],
  defaultPolicy: "merge",
  // Clients never run this module: they merge .todo files by lines (announced to them), and the
  // server validates every commit with `parse` below.
  mergeAs: "lines",

  parse(text) {
    const tasks = [];
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === "") lines.pop();
    lines.forEach((line, i) => {
      const match = TASK.exec(line);
      if (!match) throw new TodoSyntaxError(i + 1, `expected "[ ] task" or "[x] task", got ${JSON.stringify(line.slice(0, 40))}`);
      tasks.push({ done: match[1] === "x", text: match[2] });
    });
    return { tasks };
  },

  serialize(list) {
    return list.tasks.map((t) => `[${t.done ? "x" : " "}] ${t.text}\n`).join("");
  },

  // Tasks are keyed by their text; a task's `done` is merged like a property. A task added on
  // one side is added; removed on one side and unchanged on the other is removed; ticked on one
  // side and unticked (or removed) on the other is a conflict, which keeps MINE's state.
  merge(base, mine, theirs) {
    const key = (/** @type {Task} */ t) => t.text;
    const index = (/** @type {TodoList | undefined} */ list) => new Map((list?.tasks ?? []).map((t) => [key(t), t.done]));
    const [b, m, t] = [index(base), index(mine), index(theirs)];
    const order = [...m.keys(), ...[...t.keys()].filter((k) => !m.has(k))];
    const tasks = [];
    const conflicts = [];
    for (const text of order) {
      const [bv, mv, tv] = [b.get(text), m.get(text), t.get(text)];
      let chosen;
      if (mv === tv) chosen = mv;
      else if (mv === bv) chosen = tv;
      else if (tv === bv) chosen = mv;
      else {
        conflicts.push(text);
        chosen = mv ?? tv;
      }
      if (chosen !== undefined) tasks.push({ done: chosen, text });
    }
    return { value: { tasks }, conflicts };
  },
};

export default todoType;
