import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import type { BlobLeaseClient, ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { EventSource } from "../config/enums.js";
import { frontCode, IdBook, idHash } from "./ids.js";

/** What one pass is about: a configuration, one of its scopes, one of its event sources. */
export interface PassKey {
  configuration: string;
  scope: string;
  eventSource: EventSource;
}

export interface ExportState {
  /** Id hash → fingerprint last exported. */
  entries: Map<number, number>;
  /** The stable ids behind the hashes. */
  ids: IdBook;
  /** The blob's ETag when loaded; undefined for a new pass key (no state yet). */
  etag: string | undefined;
  updatedAt: string | undefined;
  /** When this pass key last sent a full snapshot. */
  snapshotAt?: string;
}

const stateEnvelope = {
  updatedAt: z.string(),
  snapshotAt: z.string().optional(),
  // Parallel arrays (far fewer objects to parse than records): the stable ids, sorted, their hashes, and
  // the fingerprints last exported (null where a score had none).
  hashes: z.array(z.number()),
  fingerprints: z.array(z.number().nullable()),
};
const stateSchema = z
  .discriminatedUnion("version", [
    // Version 3 front-codes the ids (see frontCode); version 2 kept them whole and is still read.
    z.object({ version: z.literal(3), ...stateEnvelope, idShared: z.array(z.number().int().nonnegative()), idSuffixes: z.array(z.string()) }),
    z.object({ version: z.literal(2), ...stateEnvelope, ids: z.array(z.string()) }),
  ])
  .refine((s) => {
    const n = s.hashes.length;
    return s.fingerprints.length === n && (s.version === 2 ? s.ids.length === n : s.idShared.length === n && s.idSuffixes.length === n);
  }, { message: "ids, hashes and fingerprints differ in length" });

// Pass record names count down from here (about the year 2286), so that the newest sorts first.
const MAX_TIME = 9_999_999_999_999;

export interface RunningPass {
  id: string;
  mode: string;
  startedAt: string;
  updatedAt: string;
  read: number;
  changed: number;
}
const runningSchema = z.object({ id: z.string(), mode: z.string(), startedAt: z.string(), updatedAt: z.string(), read: z.number(), changed: z.number() });

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** The blob index tag on pass records, which the storage account's lifecycle rule matches. */
export const PASS_RECORD_TAG = { name: "kind", value: "pass-record" } as const;

/** The container of export state and pass records in the app's storage account. */
export const STATE_CONTAINER = "export-state";

const progressSchema = z.object({
  cursor: z.object({ url: z.string(), index: z.number().int().nonnegative() }),
  /** The id hashes the stopped pass had seen. */
  seen: z.array(z.number()),
  stoppedAt: z.string(),
  /** The stopped pass's mode: a baseline or snapshot goes on as one. */
  mode: z.enum(["stream", "snapshot", "baseline", "seed"]),
});
export type PassProgress = z.infer<typeof progressSchema>;

/** Another runner wrote the state since this pass loaded it: the pass must not overwrite it. */
export class StateConflictError extends Error {}

export function passPrefix(key: PassKey): string {
  const scope = key.scope.replace(/^\/+/, "").toLowerCase();
  return `${encodeURIComponent(key.configuration)}/${scope}/${key.eventSource}`;
}

/**
 * The fingerprints of every record last exported, per pass key, in the app's own storage account
 * (container `export-state`): one gzipped JSON blob, ids sorted so that their shared prefixes compress,
 * written only with ETag conditions so that a runner never overwrites a newer state.
 */
export class BlobStateStore {
  constructor(readonly container: ContainerClient) {}

  #ready: Promise<unknown> | undefined;
  #ensure(): Promise<unknown> {
    this.#ready ??= this.container.createIfNotExists();
    return this.#ready;
  }

  async load(key: PassKey): Promise<ExportState> {
    await this.#ensure();
    const blob = this.container.getBlobClient(`${passPrefix(key)}/state.json.gz`);
    let buffer: Buffer;
    let etag: string | undefined;
    try {
      const response = await blob.download();
      etag = response.etag;
      buffer = await streamToBuffer(response.readableStreamBody);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return { entries: new Map(), ids: new IdBook(), etag: undefined, updatedAt: undefined };
      throw e;
    }
    let parsed: unknown;
    try {
      // Off the main thread: the pass reads its first page meanwhile.
      parsed = JSON.parse((await gunzipAsync(buffer)).toString("utf8"));
    } catch {
      throw new Error(`the export state of ${passPrefix(key)} is not gzipped JSON`);
    }
    const state = stateSchema.safeParse(parsed);
    if (!state.success) throw new Error(`the export state of ${passPrefix(key)} is not valid: ${state.error.issues[0]?.message ?? "invalid"}`);
    const entries = new Map<number, number>();
    const { hashes, fingerprints } = state.data;
    for (let i = 0; i < hashes.length; i++) entries.set(hashes[i]!, fingerprints[i] ?? Number.NaN);
    const data = state.data;
    return {
      entries,
      ids: data.version === 2 ? new IdBook(data.ids, hashes) : IdBook.frontCoded({ shared: data.idShared, suffixes: data.idSuffixes }, hashes),
      etag,
      updatedAt: state.data.updatedAt,
      ...(state.data.snapshotAt ? { snapshotAt: state.data.snapshotAt } : {}),
    };
  }

  /** Writes the state if nobody else did since `etag` (none: only if there is no state yet); returns the new ETag. */
  async save(key: PassKey, state: Pick<ExportState, "entries" | "ids" | "snapshotAt">, etag: string | undefined): Promise<{ etag: string; bytes: number }> {
    await this.#ensure();
    // The ids still exported (a hash whose entry is gone is dropped), sorted so that their prefixes compress.
    // Only the strings are collected and sorted; hashes are made again from them (no tuple per record: the
    // state of a large pass is written while its records' ids are all in memory).
    const ids: string[] = [];
    state.ids.forEach((hash, id) => {
      if (state.entries.has(hash)) ids.push(id);
    });
    ids.sort();
    let kept = 0;
    for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[kept - 1]) ids[kept++] = ids[i]!;
    ids.length = kept;
    const hashes = ids.map(idHash);
    const coded = frontCode(ids);
    const body = await gzipAsync(
      JSON.stringify({
        version: 3,
        updatedAt: new Date().toISOString(),
        ...(state.snapshotAt ? { snapshotAt: state.snapshotAt } : {}),
        idShared: coded.shared,
        idSuffixes: coded.suffixes,
        hashes,
        fingerprints: hashes.map((h) => {
          const fp = state.entries.get(h)!;
          return Number.isNaN(fp) ? null : fp;
        }),
      }),
    );
    const blob = this.container.getBlockBlobClient(`${passPrefix(key)}/state.json.gz`);
    try {
      const response = await blob.upload(body, body.length, {
        conditions: etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: "application/json", blobContentEncoding: "gzip" },
        // Read by the snapshot timer without downloading the state.
        ...(state.snapshotAt ? { metadata: { snapshotat: state.snapshotAt } } : {}),
      });
      return { etag: response.etag!, bytes: body.length };
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 412 || status === 409) throw new StateConflictError(`the export state of ${passPrefix(key)} changed since this pass read it`);
      throw e;
    }
  }

  /** Where a stopped pass left off, and the ids it had seen (so that the rest of it still tells removals). */
  async loadProgress(key: PassKey): Promise<PassProgress | undefined> {
    await this.#ensure();
    try {
      const buffer = await this.container.getBlobClient(`${passPrefix(key)}/progress.json.gz`).downloadToBuffer();
      const parsed = progressSchema.safeParse(JSON.parse((await gunzipAsync(buffer)).toString("utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  async saveProgress(key: PassKey, progress: PassProgress): Promise<void> {
    await this.#ensure();
    const body = await gzipAsync(JSON.stringify(progress));
    await this.container.getBlockBlobClient(`${passPrefix(key)}/progress.json.gz`).upload(body, body.length);
  }

  async clearProgress(key: PassKey): Promise<void> {
    await this.container.getBlobClient(`${passPrefix(key)}/progress.json.gz`).deleteIfExists();
  }

  /** Forgets everything of a configuration (state, progress, pass records): a new one of the same name starts afresh. */
  async forget(configuration: string): Promise<number> {
    await this.#ensure();
    let deleted = 0;
    for await (const blob of this.container.listBlobsFlat({ prefix: `${encodeURIComponent(configuration)}/` })) {
      // A lock leased by a running pass stays; the pass finds its state gone and writes a new one.
      if (await this.container.getBlobClient(blob.name).deleteIfExists().then((r) => r.succeeded, () => false)) deleted++;
    }
    return deleted;
  }

  /** When the pass key last sent a full snapshot, from the state blob's metadata. */
  async snapshotAt(key: PassKey): Promise<string | undefined> {
    await this.#ensure();
    try {
      const properties = await this.container.getBlobClient(`${passPrefix(key)}/state.json.gz`).getProperties();
      return properties.metadata?.["snapshotat"];
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  /** A long pass's progress while it runs (snapshots, baselines), for the status endpoint. */
  async saveRunning(key: PassKey, running: RunningPass): Promise<void> {
    await this.#ensure();
    const body = JSON.stringify(running);
    await this.container.getBlockBlobClient(`${passPrefix(key)}/running.json`).upload(body, Buffer.byteLength(body));
  }

  async clearRunning(key: PassKey): Promise<void> {
    await this.container.getBlobClient(`${passPrefix(key)}/running.json`).deleteIfExists();
  }

  async running(key: PassKey): Promise<RunningPass | undefined> {
    await this.#ensure();
    try {
      const parsed = runningSchema.safeParse(JSON.parse((await this.container.getBlobClient(`${passPrefix(key)}/running.json`).downloadToBuffer()).toString("utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  /** Keeps a pass's record next to its state, one blob per pass, named so that a listing gives the newest first. */
  async recordPass(key: PassKey, record: { startedAt: string }): Promise<string> {
    await this.#ensure();
    const newestFirst = String(MAX_TIME - Date.parse(record.startedAt)).padStart(15, "0");
    const name = `${passPrefix(key)}/passes/${newestFirst}-${record.startedAt.replace(/[:.]/g, "")}.json`;
    const body = JSON.stringify(record);
    // The tag lets a lifecycle rule (infra/core/storage.bicep) expire pass records, and only them.
    await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, tags: { [PASS_RECORD_TAG.name]: PASS_RECORD_TAG.value } });
    return name;
  }

  /** Pass records, newest first. */
  async *passes(key: PassKey): AsyncGenerator<Record<string, unknown>> {
    await this.#ensure();
    for await (const blob of this.container.listBlobsFlat({ prefix: `${passPrefix(key)}/passes/` })) {
      yield JSON.parse((await this.container.getBlobClient(blob.name).downloadToBuffer()).toString("utf8")) as Record<string, unknown>;
    }
  }

  /** The last `count` pass records, newest first, as stored (the engine's PassRecord). */
  async recentPasses(key: PassKey, count: number): Promise<unknown[]> {
    await this.#ensure();
    const names: string[] = [];
    for await (const page of this.container.listBlobsFlat({ prefix: `${passPrefix(key)}/passes/` }).byPage({ maxPageSize: count })) {
      names.push(...page.segment.blobItems.map((b) => b.name));
      break;
    }
    return Promise.all(names.map(async (n) => JSON.parse((await this.container.getBlobClient(n).downloadToBuffer()).toString("utf8")) as unknown));
  }

  /**
   * A lease on the pass key's lock blob: one runner at a time. Undefined when another runner holds it.
   * The lease is renewed while the pass runs and expires by itself if its holder dies.
   */
  async acquire(key: PassKey, seconds = 60): Promise<Lease | undefined> {
    await this.#ensure();
    const lock = this.container.getBlockBlobClient(`${passPrefix(key)}/lock`);
    try {
      await lock.upload("", 0, { conditions: { ifNoneMatch: "*" } });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status !== 409 && status !== 412) throw e;
    }
    const client = lock.getBlobLeaseClient();
    try {
      await client.acquireLease(seconds);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 409) return undefined;
      throw e;
    }
    return new Lease(client, seconds);
  }
}

export class Lease {
  readonly #client: BlobLeaseClient;
  readonly #timer: NodeJS.Timeout;
  #lost: Error | undefined;

  constructor(client: BlobLeaseClient, seconds: number) {
    this.#client = client;
    this.#timer = setInterval(() => {
      this.#client.renewLease().catch((e: Error) => {
        this.#lost = e;
      });
    }, (seconds * 1000) / 3);
    this.#timer.unref();
  }

  /** Throws when a renewal failed: another runner may have the lease by now. */
  check(): void {
    if (this.#lost) throw new Error(`the pass lost its lease: ${this.#lost.message}`);
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.releaseLease().catch(() => undefined);
  }
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
