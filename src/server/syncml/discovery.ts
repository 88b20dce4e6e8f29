/** What `GET /.well-known/zsync` says about SyncML: the endpoint and which folder each datastore is. */
import { datastoreFolder, DATASTORES } from "./datastores.js";

/** The `syncml` member of the server info document. */
export function syncmlDiscovery(root: string): { url: string; encodings: string[]; datastores: { uri: string; folder: string; types: string[] }[] } {
  return {
    url: "/syncml",
    encodings: ["application/vnd.syncml+xml"],
    datastores: DATASTORES.map((def) => ({ uri: def.uri, folder: `/${datastoreFolder(root, def)}`, types: def.mediaTypes.map((t) => t.type) })),
  };
}
