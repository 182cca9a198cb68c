import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface Azurite {
  connectionString: string;
  blobUrl: string;
  stop(): Promise<void>;
}

// Azurite's well-known development account.
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Azurite in memory on free ports; its ports are read from its own "listening at" lines. */
export async function startAzurite(): Promise<Azurite> {
  const bin = fileURLToPath(new URL("../../node_modules/azurite/dist/src/azurite.js", import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      "--inMemoryPersistence",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "0",
      "--queueHost",
      "127.0.0.1",
      "--queuePort",
      "0",
      "--tableHost",
      "127.0.0.1",
      "--tablePort",
      "0",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const ports: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Azurite did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`Azurite exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (m) ports[m[1]!] = m[2]!;
      if (ports["Blob"] && ports["Queue"] && ports["Table"]) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const endpoint = (service: string) => `http://127.0.0.1:${ports[service]}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint("Blob")};QueueEndpoint=${endpoint("Queue")};TableEndpoint=${endpoint("Table")};`,
    blobUrl: endpoint("Blob"),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
