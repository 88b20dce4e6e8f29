/** The server's device information (DevInf 1.2): one DataStore per datastore, with its folder in the display name. */
import { datastoreFolder, DATASTORES } from "./datastores.js";
import { el, node, type Markup } from "./xml.js";

/** The DevInf media type and the LocURI DevInf 1.2 is put and got at. */
export const DEVINF_TYPE = "application/vnd.syncml-devinf+xml";
export const DEVINF_URI = "./devinf12";

/** DevInf of the server at `serverUri`, whose datastores live under `root`. */
export function serverDevInf(opts: { serverUri: string; root: string; version: string }): Markup {
  const ct = (tag: string, t: { type: string; version: string }) => node(tag, el("CTType", t.type), el("VerCT", t.version));
  const stores = DATASTORES.map((def) =>
    node(
      "DataStore",
      el("SourceRef", def.uri),
      el("DisplayName", `${def.displayName} (/${datastoreFolder(opts.root, def)})`),
      el("MaxGUIDSize", 255),
      ct("Rx-Pref", def.mediaTypes[0]!),
      ...def.mediaTypes.slice(1).map((t) => ct("Rx", t)),
      ct("Tx-Pref", def.mediaTypes[0]!),
      ...def.mediaTypes.slice(1).map((t) => ct("Tx", t)),
      node("SyncCap", ...[1, 2, 3, 4, 5, 6].map((n) => el("SyncType", n))),
    ),
  );
  return `<DevInf xmlns='syncml:devinf'>${[
    el("VerDTD", "1.2"),
    el("Man", "zsync"),
    el("Mod", "zsync-server"),
    el("OEM", "zsync"),
    el("FwV", opts.version),
    el("SwV", opts.version),
    el("HwV", "-"),
    el("DevID", opts.serverUri),
    el("DevTyp", "server"),
    "<UTC/>",
    "<SupportLargeObjs/>",
    "<SupportNumberOfChanges/>",
    ...stores,
  ].join("")}</DevInf>`;
}
