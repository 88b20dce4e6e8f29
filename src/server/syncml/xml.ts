/**
 * SyncML's XML, both ways: incoming messages parsed (fast-xml-parser) into a small element tree,
 * and outgoing elements written as text. Namespace prefixes are dropped (SyncML's element names
 * are unique across its DTDs); CDATA is read as text; DOCTYPEs are refused (no entity tricks).
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";

/** One element: its name (no prefix), its text (all text and CDATA inside it, joined) and its child elements. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

/** A message that is not well-formed XML (or uses a DOCTYPE). */
export class XmlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XmlSyntaxError";
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true, // also decodes numeric character references (&#13;)
});

type Ordered = Record<string, unknown>;

/** Parses a document; returns its root element. */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new XmlSyntaxError("DOCTYPE declarations are not accepted");
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlSyntaxError(`not well-formed XML: line ${valid.err.line}: ${valid.err.msg}`);
  const nodes = parser.parse(text) as Ordered[];
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== undefined && !e.name.startsWith("?"));
  if (roots.length !== 1) throw new XmlSyntaxError("the document must have exactly one root element");
  return roots[0]!;
}

function toElement(node: Ordered): XmlElement | undefined {
  const name = Object.keys(node).find((k) => k !== ":@");
  if (name === undefined || name === "#text") return undefined;
  const content = (node[name] as Ordered[]) ?? [];
  const element: XmlElement = { name, text: "", children: [] };
  for (const child of content) {
    if ("#text" in child) element.text += String(child["#text"]);
    else {
      const sub = toElement(child);
      if (sub) element.children.push(sub);
    }
  }
  return element;
}

/** The first child called `name`. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** Every child called `name`. */
export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element?.children.filter((c) => c.name === name) ?? [];
}

/** The trimmed text at a path of child names (`text(hdr, "Source", "LocURI")`), or undefined. */
export function textAt(element: XmlElement | undefined, ...path: string[]): string | undefined {
  let at = element;
  for (const name of path) at = child(at, name);
  return at === undefined ? undefined : at.text.trim();
}

/** Escapes text for element content. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");
}

/** Outgoing markup: an element with escaped text, or with child markup. */
export type Markup = string;

/** `<name>` with escaped `text` (a number is written as is). */
export function el(name: string, text: string | number): Markup {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

/** `<name ns?>children…</name>`; undefined and empty children are left out. */
export function node(name: string, ...children: (Markup | undefined)[]): Markup {
  return `<${name}>${children.filter((c) => c !== undefined).join("")}</${name}>`;
}

/** A meta-information element (`<Type xmlns='syncml:metinf'>…</Type>`). */
export function metinf(name: string, text: string | number): Markup {
  return `<${name} xmlns='syncml:metinf'>${escapeXml(String(text))}</${name}>`;
}
