/**
 * The content-line format shared by vCard (RFC 6350; 2.1 and 3.0 are read too) and iCalendar
 * (RFC 5545), parsed into components and properties and written back (pure: no I/O).
 *
 * Values are kept as written (escapes included), so a parse → serialize → parse round trip keeps
 * every property, parameter and value; only line folding and line endings are normalised (CRLF,
 * folded at 75 octets without splitting a UTF-8 character). vCard 2.1 quoted-printable soft line
 * breaks and bare parameters (`TEL;HOME;VOICE:`) are read; bare parameters are kept bare.
 */

/** A parse failure, naming the 1-based line of the input where it was found. */
export class VObjectSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "VObjectSyntaxError";
    this.line = line;
  }
}

/** One parameter: `TYPE=cell,voice` is `{ name: "TYPE", values: ["cell", "voice"] }`; a bare 2.1 parameter has no values. */
export interface VParam {
  name: string;
  values?: string[];
}

/** One property (content line). */
export interface VProperty {
  /** vCard group (`item1` in `item1.EMAIL`), when present. */
  group?: string;
  /** Upper-cased name. */
  name: string;
  params: VParam[];
  /** The value as written, escapes included (unfolded; quoted-printable soft breaks joined). */
  value: string;
  /** 1-based line where the property starts in the parsed text (0 for built values). */
  line: number;
}

/** A component: `BEGIN:NAME` … `END:NAME`. */
export interface VComponent {
  /** Upper-cased name (`VCARD`, `VCALENDAR`, `VEVENT`, …). */
  name: string;
  properties: VProperty[];
  components: VComponent[];
  /** 1-based line of its BEGIN. */
  line: number;
}

const NAME = /^[A-Za-z0-9-]+$/;
const MAX_DEPTH = 16;

interface LogicalLine {
  text: string;
  line: number;
}

/** Unfolds physical lines into logical lines (RFC 5545 §3.1 / RFC 6350 §3.2). */
function unfold(text: string): LogicalLine[] {
  const physical = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  const out: (LogicalLine & { quotedPrintable: boolean })[] = [];
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    const current = out[out.length - 1];
    if ((raw.startsWith(" ") || raw.startsWith("\t")) && current) {
      current.text += raw.slice(1);
      continue;
    }
    // vCard 2.1 quoted-printable: a trailing "=" is a soft line break, the next line goes on unindented.
    if (current?.quotedPrintable && current.text.endsWith("=") && raw !== "") {
      current.text = current.text.slice(0, -1) + raw;
      continue;
    }
    if (raw === "") continue;
    const colon = raw.indexOf(":");
    const head = colon < 0 ? "" : raw.slice(0, colon + 1);
    out.push({ text: raw, line: i + 1, quotedPrintable: /ENCODING=QUOTED-PRINTABLE|;QUOTED-PRINTABLE[;:]/i.test(head) });
  }
  return out;
}

/** Parses one logical content line. */
function parseLine(logical: LogicalLine): VProperty {
  const { text, line } = logical;
  let i = 0;
  const nameEnd = scanName(text, 0);
  let name = text.slice(0, nameEnd);
  let group: string | undefined;
  i = nameEnd;
  if (text[i] === ".") {
    group = name;
    const end = scanName(text, i + 1);
    name = text.slice(i + 1, end);
    i = end;
  }
  if (!NAME.test(name)) throw new VObjectSyntaxError(line, `expected a property name, got ${JSON.stringify(text.slice(0, 40))}`);
  if (group !== undefined && !NAME.test(group)) throw new VObjectSyntaxError(line, `bad group name ${JSON.stringify(group)}`);
  const params: VParam[] = [];
  while (text[i] === ";") {
    i++;
    const pEnd = scanName(text, i);
    const pName = text.slice(i, pEnd);
    if (!NAME.test(pName)) throw new VObjectSyntaxError(line, `bad parameter in ${name}`);
    i = pEnd;
    if (text[i] !== "=") {
      params.push({ name: pName.toUpperCase() });
      continue;
    }
    i++;
    const values: string[] = [];
    for (;;) {
      if (text[i] === '"') {
        const close = text.indexOf('"', i + 1);
        if (close < 0) throw new VObjectSyntaxError(line, `unterminated quoted parameter value in ${name}`);
        values.push(text.slice(i + 1, close));
        i = close + 1;
      } else {
        let j = i;
        while (j < text.length && text[j] !== "," && text[j] !== ";" && text[j] !== ":") {
          if (text[j] === '"') throw new VObjectSyntaxError(line, `stray quote in a parameter of ${name}`);
          j++;
        }
        values.push(text.slice(i, j));
        i = j;
      }
      if (text[i] !== ",") break;
      i++;
    }
    params.push({ name: pName.toUpperCase(), values });
  }
  if (text[i] !== ":") throw new VObjectSyntaxError(line, `expected ':' after ${name}${params.length ? " and its parameters" : ""}`);
  return { ...(group !== undefined ? { group } : {}), name: name.toUpperCase(), params, value: text.slice(i + 1), line };
}

function scanName(text: string, from: number): number {
  let i = from;
  while (i < text.length && /[A-Za-z0-9-]/.test(text[i]!)) i++;
  return i;
}

/**
 * Parses every top-level component of `text` (a .vcf may hold many cards, a .ics one calendar).
 * Throws {@link VObjectSyntaxError} naming the line on any malformed input: a line outside a
 * component, an unbalanced BEGIN/END, a bad property or parameter.
 */
export function parseVObjects(text: string): VComponent[] {
  const top: VComponent[] = [];
  const stack: VComponent[] = [];
  let lastLine = 0;
  for (const logical of unfold(text)) {
    lastLine = logical.line;
    const prop = parseLine(logical);
    if (prop.name === "BEGIN") {
      const name = prop.value.trim().toUpperCase();
      if (!NAME.test(name)) throw new VObjectSyntaxError(prop.line, `BEGIN needs a component name`);
      if (stack.length >= MAX_DEPTH) throw new VObjectSyntaxError(prop.line, `components nested deeper than ${MAX_DEPTH}`);
      const component: VComponent = { name, properties: [], components: [], line: prop.line };
      (stack.length > 0 ? stack[stack.length - 1]!.components : top).push(component);
      stack.push(component);
      continue;
    }
    const open = stack[stack.length - 1];
    if (prop.name === "END") {
      const name = prop.value.trim().toUpperCase();
      if (!open) throw new VObjectSyntaxError(prop.line, `END:${name} without a BEGIN`);
      if (open.name !== name) throw new VObjectSyntaxError(prop.line, `END:${name} closes BEGIN:${open.name} of line ${open.line}`);
      stack.pop();
      continue;
    }
    if (!open) throw new VObjectSyntaxError(prop.line, `${prop.name} outside of any BEGIN … END`);
    open.properties.push(prop);
  }
  if (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    throw new VObjectSyntaxError(lastLine + 1, `BEGIN:${open.name} of line ${open.line} is never closed (END:${open.name} missing)`);
  }
  return top;
}

/** The content line of a property, unfolded. */
export function formatProperty(prop: VProperty): string {
  const params = prop.params
    .map((p) => (p.values === undefined ? `;${p.name}` : `;${p.name}=${p.values.map(quoteParam).join(",")}`))
    .join("");
  return `${prop.group !== undefined ? prop.group + "." : ""}${prop.name}${params}:${prop.value}`;
}

function quoteParam(value: string): string {
  return /[;:,]/.test(value) ? `"${value}"` : value;
}

/** Folds a logical line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character. */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, "utf8");
    const limit = parts.length === 0 ? 75 : 74; // continuation lines start with a space
    if (octets + size > limit) {
      parts.push(current);
      current = "";
      octets = 0;
    }
    current += ch;
    octets += size;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

/** Writes components back as text: CRLF line ends, folded lines. */
export function serializeVObjects(components: VComponent[]): string {
  const lines: string[] = [];
  const write = (c: VComponent) => {
    lines.push(`BEGIN:${c.name}`);
    for (const p of c.properties) lines.push(foldLine(formatProperty(p)));
    for (const child of c.components) write(child);
    lines.push(`END:${c.name}`);
  };
  for (const c of components) write(c);
  return lines.map((l) => l + "\r\n").join("");
}

/** The first parameter named `name` (upper case), if any. */
export function paramValues(prop: VProperty, name: string): string[] | undefined {
  return prop.params.find((p) => p.name === name)?.values;
}

/** Data of a component without line numbers, for comparing parses. */
export function stripLines(c: VComponent): unknown {
  return {
    name: c.name,
    properties: c.properties.map(({ line: _line, ...rest }) => rest),
    components: c.components.map(stripLines),
  };
}

/** A TEXT value as written (`a\, b\nc`) → its text (`a, b` newline `c`). */
export function unescapeText(value: string): string {
  return value.replace(/\\([\\,;nN])/g, (_, ch: string) => (ch === "n" || ch === "N" ? "\n" : ch));
}

/** Text → a TEXT value as written (backslash, comma, semicolon and newline escaped). */
export function escapeText(text: string): string {
  return text.replace(/[\\,;]/g, (ch) => "\\" + ch).replace(/\r\n|\n|\r/g, "\\n");
}
