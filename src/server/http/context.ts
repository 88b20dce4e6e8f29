/** What every request handler gets: the store, limits, temp dir, and the caller. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestTarget } from "../../protocol/request-path.js";
import type { Principal } from "../auth.js";
import type { Access } from "../authz/access.js";
import type { ContentStore } from "../authz/content-view.js";
import type { TypeRegistry } from "../types/registry.js";

/** Size limits applied to requests. */
export interface ServerLimits {
  /** Largest request body accepted (bytes). */
  maxBodyBytes: number;
  /** Largest manifest record (bytes). */
  maxManifestBytes: number;
  /** Largest metadata object of one path, as JSON (bytes). */
  maxMetaBytes: number;
  /** Most changes in one commit. */
  maxChanges: number;
  /** Longest request target (path and query, percent-encoded) before 414. */
  maxUrlBytes: number;
  /** Largest request line plus headers (Node's `maxHeaderSize`) before 431. */
  maxHeaderBytes: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 64 * 1024 ** 3,
  maxManifestBytes: 64 * 1024 ** 2,
  maxMetaBytes: 256 * 1024,
  maxChanges: 1_000_000,
  maxUrlBytes: 8 * 1024,
  maxHeaderBytes: 16 * 1024,
};

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  target: RequestTarget;
  principal: Principal;
  /** What the principal may do (roles and grants as of this request). */
  access: Access;
  /** The repository as the principal may see and change it (never the bare store). */
  store: ContentStore;
  limits: ServerLimits;
  /** Directory for staging uploaded bodies (same file system as nothing in particular). */
  tempDir: string;
  /** Content types: typed files are validated on commit. */
  types: TypeRegistry;
}
