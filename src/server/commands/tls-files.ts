/** `serve --tls-cert FILE --tls-key FILE`: reading and checking the pair before the server starts. */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";

/**
 * Reads the certificate and key files named by the options; undefined when neither is given.
 * Throws an Error with a clear message when only one is given, a file is unreadable or not PEM,
 * or the key does not belong to the certificate.
 */
export async function readTlsFiles(certFile: string | undefined, keyFile: string | undefined): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new Error("--tls-cert and --tls-key go together: give both (HTTPS) or neither (HTTP)");
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  const cert = await read(certFile, "certificate");
  const key = await read(keyFile, "key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`${certFile} is not a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`${keyFile} is not a PEM private key (or it is encrypted; give an unencrypted key)`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`${keyFile} is not the private key of the certificate in ${certFile}`);
  return { cert, key };
}
