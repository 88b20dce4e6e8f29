/**
 * The typed interface of a content type: how objects of the type are parsed (validated),
 * serialized and merged, and which conflict policy applies by default. The built-in types and
 * plug-ins loaded with `zsync-server serve --type-module FILE` implement it; docs/CONTENT-TYPES.md
 * walks through writing one.
 */
import type { ConflictPolicy, MergeKind } from "../../merge/content-kinds.js";

export type { ConflictPolicy, MergeKind };

/** A parse failure naming the 1-based line of the content where it was found. */
export class ContentParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.name = "ContentParseError";
    this.line = line;
  }
}

/** What {@link ContentTypeDefinition.merge} returns. */
export interface TypedMergeResult<T> {
  /** The merged value; where `conflicts` is not empty it holds MINE's part of each conflicting piece. */
  value: T;
  /** Names of the conflicting pieces (properties, keys, lines); empty when the merge is clean. */
  conflicts: string[];
}

/** One content type. `T` is the parsed form of an object's content. */
export interface ContentTypeDefinition<T = unknown> {
  /** Short name: `contact`, `event`, `todo`, …; what `add --type NAME` and error messages say. */
  name: string;
  /** Media types that name this type in an object's metadata; the first is the one recorded. */
  mediaTypes: string[];
  /** File name endings (`.vcf`) that suggest this type in a checkout. */
  extensions: string[];
  /** Conflict policy when neither the command nor the checkout names one; announced to clients. */
  defaultPolicy: ConflictPolicy;
  /**
   * How clients merge this type's files, announced to them (a client never runs a plug-in's
   * code): `lines` (the default), `json` per key, `records` per vCard/iCalendar property, or
   * `binary` (never merged, both versions kept). `merge` below is what the server's own code uses.
   */
  mergeAs?: MergeKind;
  /**
   * Parses content (UTF-8 text). Throws {@link ContentParseError} (or any error with a numeric
   * `line`) on content that is not of this type; the server then refuses the commit.
   */
  parse(text: string): T;
  /** Writes a parsed value back as the text of a file in a checkout; `parse(serialize(v))` equals `v`. */
  serialize(value: T): string;
  /** Three-way merge of parsed values; `base` is undefined for two independent additions. */
  merge(base: T | undefined, mine: T, theirs: T): TypedMergeResult<T>;
}
