/**
 * Test certificates made with the openssl CLI at test time: a CA and server certificates it signs.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Runs openssl in `cwd`; throws with its stderr on failure. */
export function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A self-signed CA certificate `NAME.pem` with its key `NAME.key`. */
export function makeCa(dir: string, name: string): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`], dir);
}

/** A server certificate signed by `ca` for `altNames` (`DNS:…,IP:…`); `expired` makes one past its end. */
export function makeServerCert(dir: string, name: string, ca: string, altNames: string, opts: { expired?: boolean } = {}): void {
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\n`);
  // openssl 3.0 `x509 -req` has no -not_before; `-days -1` puts notAfter a day before issue: expired.
  const validity = ["-days", opts.expired ? "-1" : "2"];
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, ...validity, "-extfile", `${name}.ext`], dir);
}
