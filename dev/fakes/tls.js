import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
let cached;
/** A self-signed certificate for localhost and 127.0.0.1, made once per process with openssl. */
export function localTls() {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "defender-export-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      { stdio: "pipe" },
    );
  } catch (e) {
    throw new Error(`cannot make a test certificate with openssl (is it installed?): ${e.message}`, { cause: e });
  }
  cached = { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), certFile };
  return cached;
}
//# sourceMappingURL=tls.js.map
