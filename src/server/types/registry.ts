/**
 * The server's content-type registry: the built-in types plus plug-ins, looked up by the media
 * type in an object's metadata; and the loader of `--type-module` files.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isConflictPolicy, isMergeKind } from "../../merge/content-kinds.js";
import type { AnnouncedType } from "../../protocol/types.js";
import { BUILTIN_TYPES, fileType } from "./builtins.js";
import type { ContentTypeDefinition } from "./interface.js";

/** Types by name and by media type. */
export interface TypeRegistry {
  /** Every type, built-ins first. */
  types: ContentTypeDefinition<any>[];
  /** The type a media type names (parameters and case ignored); `file` for any other or none. */
  forMediaType(contentType: string | undefined): ContentTypeDefinition<any>;
  /** The type called `name`, if any. */
  byName(name: string): ContentTypeDefinition<any> | undefined;
}

/** A registry of the built-in types plus `plugins` (a plug-in may replace a built-in of the same name). */
export function createTypeRegistry(opts: { plugins?: ContentTypeDefinition<any>[] } = {}): TypeRegistry {
  const byName = new Map<string, ContentTypeDefinition<any>>();
  for (const type of [...BUILTIN_TYPES, ...(opts.plugins ?? [])]) byName.set(type.name, type);
  const byMedia = new Map<string, ContentTypeDefinition<any>>();
  for (const type of byName.values()) for (const media of type.mediaTypes) byMedia.set(media.toLowerCase(), type);
  return {
    types: [...byName.values()],
    forMediaType(contentType) {
      const essence = (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase();
      return byMedia.get(essence) ?? fileType;
    },
    byName: (name) => byName.get(name),
  };
}

/**
 * What the server tells clients of its types (`/.well-known/zsync`, snapshot manifests): every
 * type with a media type (not `file`/`folder`), its merge kind for clients and its default policy.
 */
export function announceTypes(registry: TypeRegistry): AnnouncedType[] {
  return registry.types
    .filter((t) => t.mediaTypes.length > 0)
    .map((t) => ({ name: t.name, mediaTypes: [...t.mediaTypes], extensions: [...t.extensions], merge: t.mergeAs ?? "lines", defaultPolicy: t.defaultPolicy }));
}

/** Why a loaded module is not a content type, or undefined when it is one. */
export function typeDefinitionProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "it exports no content type (export default an object; see docs/CONTENT-TYPES.md)";
  const t = value as Partial<Record<keyof ContentTypeDefinition, unknown>>;
  if (typeof t.name !== "string" || !/^[a-z][a-z0-9-]{0,63}$/.test(t.name)) return "name must be a short lower-case word";
  if (!Array.isArray(t.mediaTypes) || t.mediaTypes.length === 0 || !t.mediaTypes.every((m) => typeof m === "string" && /^[\w.+-]+\/[\w.+-]+$/.test(m))) {
    return "mediaTypes must be a non-empty list of media types like text/x-todo";
  }
  if (!Array.isArray(t.extensions) || !t.extensions.every((e) => typeof e === "string" && /^\.[\w.-]+$/.test(e))) return "extensions must be a list like [\".todo\"]";
  if (!isConflictPolicy(t.defaultPolicy)) return "defaultPolicy must be merge, mine, theirs, newest or error";
  if (t.mergeAs !== undefined && !isMergeKind(t.mergeAs)) return "mergeAs must be lines, json, records or binary";
  for (const fn of ["parse", "serialize", "merge"] as const) if (typeof t[fn] !== "function") return `${fn} must be a function`;
  return undefined;
}

/** Loads a `--type-module` file (ESM; its default export, or its export `type`, is the definition). */
export async function loadTypeModule(file: string): Promise<ContentTypeDefinition<any>> {
  const absolute = resolve(file);
  let module: { default?: unknown; type?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as typeof module;
  } catch (error) {
    throw new Error(`--type-module ${file}: cannot load it (${(error as Error).message})`);
  }
  const definition = module.default ?? module.type;
  const problem = typeDefinitionProblem(definition);
  if (problem) throw new Error(`--type-module ${file}: not a content type: ${problem}`);
  return definition as ContentTypeDefinition<any>;
}
