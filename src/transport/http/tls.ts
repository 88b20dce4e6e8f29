/**
 * TLS for https:// servers: which certificate authorities the client trusts, the undici
 * dispatcher that verifies against them, the words for a certificate that fails, and the
 * warning for credentials sent in clear text.
 *
 * Trust = Node's bundled Mozilla roots + the operating system's bundle + the `--ca` file.
 * Verification is never switched off: there is no `--insecure`.
 */
import { nodeCrypto } from "../../protocol/crypto.js";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Dispatcher } from "undici";
import { WcError } from "../../wc/admin.js";

/** Where Linux distributions and macOS keep the system's CA bundle (first readable one wins). */
const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads a PEM file of CA certificates; a clear {@link WcError} (`bad-ca`) when it cannot be
 * read or holds no valid certificate.
 */
export function readCaFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new WcError("bad-ca", `cannot read the CA certificate file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new WcError("bad-ca", `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const pem of pems) {
    try {
      new (nodeCrypto().X509Certificate)(pem);
    } catch (error) {
      throw new WcError("bad-ca", `${file} holds a certificate that cannot be parsed (${(error as Error).message})`);
    }
  }
  return pems;
}

/** The system's CA certificates: Node 22's `tls.getCACertificates("system")`, else the first bundle file found. */
function systemCertificates(): string[] {
  const getter = (tls as unknown as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  if (typeof getter === "function") return getter("system");
  const files = [process.env.SSL_CERT_FILE, ...SYSTEM_BUNDLES].filter((f): f is string => !!f);
  for (const file of files) {
    try {
      return readFileSync(file, "utf8").match(PEM_CERTIFICATE) ?? [];
    } catch {
      // try the next place
    }
  }
  return [];
}

/** Every CA certificate the client trusts, with `caFile` (if any) added. */
export function trustedCertificates(caFile?: string): string[] {
  const extra = process.env.NODE_EXTRA_CA_CERTS ? readCaFile(process.env.NODE_EXTRA_CA_CERTS) : [];
  return [...tls.rootCertificates, ...systemCertificates(), ...extra, ...(caFile ? readCaFile(caFile) : [])];
}

/**
 * The dispatcher for an origin: for https://, an undici Agent verifying certificates against
 * {@link trustedCertificates}; for anything else undefined (undici's default).
 */
export async function dispatcherFor(origin: string, opts: { caFile?: string } = {}): Promise<Dispatcher | undefined> {
  if (!origin.startsWith("https:")) return undefined;
  const ca = trustedCertificates(opts.caFile);
  const { Agent } = await import("undici");
  return new Agent({ connect: { ca, rejectUnauthorized: true } });
}

/** OpenSSL / Node verification codes in words. */
const REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the certificate chain ends in an untrusted self-signed CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate was issued by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT: "the certificate was issued by an unknown CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate was issued by an unknown CA",
  CERT_UNTRUSTED: "the certificate is not trusted",
  CERT_HAS_EXPIRED: "the certificate has expired",
  CERT_NOT_YET_VALID: "the certificate is not valid yet",
  CERT_REVOKED: "the certificate was revoked",
  CERT_SIGNATURE_FAILURE: "the certificate's signature is invalid",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate is for another host name",
  HOSTNAME_MISMATCH: "the certificate is for another host name",
};

/**
 * When `error` (as thrown by undici) is a failed certificate check, the message for it: the host,
 * the reason, and what to do. Undefined for any other error.
 */
export function describeTlsFailure(error: unknown, origin: string): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown; message?: string } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    const code = typeof e.code === "string" ? e.code : "";
    // An https:// URL for a server that speaks plain HTTP: the "TLS record" it got back is HTTP text.
    if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_HTTP_REQUEST" || /wrong version number|http request/i.test(code === "EPROTO" ? e.message ?? "" : "")) {
      const url = new URL(origin);
      return `${url.host} speaks plain HTTP, not HTTPS: use http://${url.host}/… (or give the server a certificate with --tls-cert/--tls-key); nothing was sent`;
    }
    const reason = REASONS[code] ?? (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_)/.test(code) ? `${code}: ${e.message}` : undefined);
    if (reason) {
      const host = new URL(origin).host;
      return (
        `the TLS certificate of ${host} could not be verified: ${reason}; nothing was sent. ` +
        `If the server uses a private CA, pass its certificate with --ca FILE (or ZSYNC_CA=FILE)`
      );
    }
  }
  return undefined;
}

/** True for localhost and loopback addresses (127.0.0.0/8, ::1), where clear text never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./.test(host);
  return false;
}

/**
 * The warning for sending credentials over plain http:// to another machine, or undefined
 * when there is nothing to warn about (https, ssh, loopback, no credentials).
 */
export function cleartextCredentialsWarning(origin: string, sendsCredentials: boolean): string | undefined {
  if (!sendsCredentials) return undefined;
  const url = new URL(origin);
  if (url.protocol !== "http:" || isLoopbackHost(url.hostname)) return undefined;
  return `warning: sending credentials to ${url.host} over plain http://, readable by anyone on the network; use https:// or zsync+ssh://`;
}
