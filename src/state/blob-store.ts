import { statusOf } from "../shared/azure-errors.js";
import { onceUntilRejected } from "../shared/once.js";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { ContainerClient } from "@azure/storage-blob";
import { ExportEntries } from "../change/entries.js";
import { decodeState, encodeState } from "./codec.js";
import { acquireBlobLease, type Lease } from "./lease.js";
import { appendPassRecord, readRunning, recentPassRecords, type RunningPass } from "./pass-log.js";
import { passPrefix, progressSchema, scopePrefix, StateConflictError, type ExportState, type PassKey, type PassProgress, type StateStore, type StateToSave } from "./store.js";

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** The container of export state and pass records in the app's storage account. */
export const STATE_CONTAINER = "export-state";

/** A pass key's blobs, under its passPrefix: named here and nowhere else. */
const BLOBS = {
  state: "state.json.gz",
  progress: "progress.json.gz",
  running: "running.json",
  lock: "lock",
  passes: "passes/",
} as const;

function blobName(key: PassKey, blob: keyof typeof BLOBS): string {
  return `${passPrefix(key)}/${BLOBS[blob]}`;
}

/**
 * The state in the app's own storage account (container `export-state`): per pass key one gzipped blob
 * (version 4, see codec.ts), written only with ETag conditions so that a runner never overwrites a newer
 * state, beside its progress, running marker, lock blob and pass records.
 */
export class BlobStateStore implements StateStore {
  /** `where` names the account for messages: the app setting it comes from, never its value. */
  constructor(
    readonly container: ContainerClient,
    readonly where?: string,
  ) {}

  /** Its container exists (made once; a failure is tried again at the next call, never remembered). */
  readonly ready = onceUntilRejected(() => this.container.createIfNotExists());

  async load(key: PassKey): Promise<ExportState> {
    await this.ready();
    const blob = this.container.getBlobClient(blobName(key, "state"));
    let buffer: Buffer;
    let etag: string | undefined;
    let readAt: string | undefined;
    try {
      const response = await blob.download();
      etag = response.etag;
      readAt = response.metadata?.["readat"];
      buffer = await streamToBuffer(response.readableStreamBody);
    } catch (e) {
      if (statusOf(e) === 404) return { entries: new ExportEntries(), etag: undefined, updatedAt: undefined };
      throw e;
    }
    return { ...(await decodeState(buffer, passPrefix(key))), etag, ...(readAt ? { readAt } : {}) };
  }

  async save(key: PassKey, state: StateToSave, etag: string | undefined, now = new Date()): Promise<{ etag: string; bytes: number }> {
    await this.ready();
    const encoded = await encodeState(state, now);
    const blob = this.container.getBlockBlobClient(blobName(key, "state"));
    try {
      const response = await blob.upload(encoded.body, encoded.body.length, {
        conditions: etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: "application/octet-stream", blobContentEncoding: "gzip" },
        // Read by the snapshot timer without downloading the state.
        metadata: stateMetadata(state),
      });
      encoded.stored();
      return { etag: response.etag!, bytes: encoded.body.length };
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 409) throw new StateConflictError(`the export state of ${passPrefix(key)} changed since this pass read it`);
      throw e;
    }
  }

  /** The read time goes in the blob's metadata (kept beside snapshotAt), the earliest a change it did not see can have appeared. */
  async markRead(key: PassKey, state: Pick<ExportState, "snapshotAt" | "readAt">, etag: string): Promise<string> {
    const response = await this.container.getBlobClient(blobName(key, "state")).setMetadata(stateMetadata(state), { conditions: { ifMatch: etag } });
    return response.etag ?? etag;
  }

  /** From the state blob's metadata. */
  async snapshotAt(key: PassKey): Promise<string | undefined> {
    await this.ready();
    try {
      const properties = await this.container.getBlobClient(blobName(key, "state")).getProperties();
      return properties.metadata?.["snapshotat"];
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async loadProgress(key: PassKey): Promise<PassProgress | undefined> {
    await this.ready();
    try {
      const buffer = await this.container.getBlobClient(blobName(key, "progress")).downloadToBuffer();
      const parsed = progressSchema.safeParse(JSON.parse((await gunzipAsync(buffer)).toString("utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async saveProgress(key: PassKey, progress: PassProgress): Promise<void> {
    await this.ready();
    const body = await gzipAsync(JSON.stringify(progress));
    await this.container.getBlockBlobClient(blobName(key, "progress")).upload(body, body.length);
  }

  async clearProgress(key: PassKey): Promise<void> {
    await this.container.getBlobClient(blobName(key, "progress")).deleteIfExists();
  }

  async saveRunning(key: PassKey, running: RunningPass): Promise<void> {
    await this.ready();
    const body = JSON.stringify(running);
    await this.container.getBlockBlobClient(blobName(key, "running")).upload(body, Buffer.byteLength(body));
  }

  async clearRunning(key: PassKey): Promise<void> {
    await this.container.getBlobClient(blobName(key, "running")).deleteIfExists();
  }

  async running(key: PassKey): Promise<RunningPass | undefined> {
    await this.ready();
    return readRunning(this.container, blobName(key, "running"), blobName(key, "lock"));
  }

  /** A lease on the pass key's lock blob, renewed while the pass runs; it expires by itself if its holder dies. */
  async acquire(key: PassKey, seconds = 60): Promise<Lease | undefined> {
    await this.ready();
    return acquireBlobLease(this.container.getBlockBlobClient(blobName(key, "lock")), seconds);
  }

  /** One blob per pass, named so that a listing gives the newest first. */
  async recordPass(key: PassKey, record: { startedAt: string }): Promise<string> {
    await this.ready();
    return appendPassRecord(this.container, blobName(key, "passes"), record);
  }

  async recentPasses(key: PassKey, count: number): Promise<unknown[]> {
    await this.ready();
    return recentPassRecords(this.container, blobName(key, "passes"), count);
  }

  async forget(configuration: string, scopes?: readonly string[]): Promise<number> {
    await this.ready();
    let deleted = 0;
    const prefixes = scopes === undefined ? [`${encodeURIComponent(configuration)}/`] : scopes.map((scope) => scopePrefix(configuration, scope));
    for (const prefix of prefixes) deleted += await this.#deleteUnder(prefix);
    return deleted;
  }

  async storedUnits(configuration: string, group: string): Promise<string[]> {
    await this.ready();
    const prefix = scopePrefix(configuration, `${group}/units`);
    const units: string[] = [];
    for await (const item of this.container.listBlobsByHierarchy("/", { prefix })) {
      if (item.kind === "prefix") units.push(`/${item.name.slice(`${encodeURIComponent(configuration)}/`.length).replace(/\/$/, "")}`);
    }
    return units;
  }

  async #deleteUnder(prefix: string): Promise<number> {
    let deleted = 0;
    for await (const blob of this.container.listBlobsFlat({ prefix })) {
      // A lock leased by a running pass stays; the pass finds its state gone and writes a new one.
      if (
        await this.container
          .getBlobClient(blob.name)
          .deleteIfExists()
          .then(
            (r) => r.succeeded,
            () => false,
          )
      )
        deleted++;
    }
    return deleted;
  }
}

/** What the state blob's metadata says without downloading it: the last snapshot, the last complete read. */
function stateMetadata(state: Pick<ExportState, "snapshotAt" | "readAt">): Record<string, string> {
  return { ...(state.snapshotAt ? { snapshotat: state.snapshotAt } : {}), ...(state.readAt ? { readat: state.readAt } : {}) };
}

export async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
