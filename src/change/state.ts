import { once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import { promisify } from "node:util";
import { createGunzip, createGzip, gunzip, gzip } from "node:zlib";
import type { BlobLeaseClient, ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { EventSource } from "../config/enums.js";
import { decodeIdLines, ExportEntries, type IdSource } from "./entries.js";
import { frontDecode } from "./ids.js";

/** What one pass is about: a configuration, one of its scopes, one of its event sources. */
export interface PassKey {
  configuration: string;
  scope: string;
  eventSource: EventSource;
}

export interface ExportState {
  /** Id hash → fingerprint last exported, and the stable ids behind the hashes. */
  entries: ExportEntries;
  /** The blob's ETag when loaded; undefined for a new pass key (no state yet). */
  etag: string | undefined;
  updatedAt: string | undefined;
  /** When this pass key last sent a full snapshot. */
  snapshotAt?: string;
  /** The generation of the configuration that wrote it (none: written before generations were kept). */
  generation?: string;
  /** When the last complete pass began to read (blob metadata: an unchanged pass does not write the state). */
  readAt?: string;
}

/**
 * Version 4, gzipped: this header as one JSON line, then `count` hashes and `count` fingerprints (float64,
 * little-endian; NaN where a score had none), then the ids as front-coded lines (see frontCodedLine). A
 * pass reads only the header and the numbers; the ids stay compressed until a removal or a save.
 */
const headerSchema = z.object({ version: z.literal(4), updatedAt: z.string(), snapshotAt: z.string().optional(), generation: z.string().optional(), count: z.number().int().nonnegative() });

// Versions 2 and 3 were one JSON document, ids whole (2) or front-coded in arrays (3); they are still read.
const legacyEnvelope = {
  updatedAt: z.string(),
  snapshotAt: z.string().optional(),
  hashes: z.array(z.number()),
  fingerprints: z.array(z.number().nullable()),
};
const legacySchema = z
  .discriminatedUnion("version", [
    z.object({ version: z.literal(3), ...legacyEnvelope, idShared: z.array(z.number().int().nonnegative()), idSuffixes: z.array(z.string()) }),
    z.object({ version: z.literal(2), ...legacyEnvelope, ids: z.array(z.string()) }),
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
  /** Where to go on from; null: from the start (compliance records have no cursor). */
  cursor: z.object({ url: z.string(), index: z.number().int().nonnegative() }).nullable(),
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
 * (container `export-state`): one gzipped blob (version 4, see headerSchema), written only with ETag
 * conditions so that a runner never overwrites a newer state.
 */
export class BlobStateStore {
  /** `where` names the account for messages: the app setting it comes from, never its value. */
  constructor(
    readonly container: ContainerClient,
    readonly where?: string,
  ) {}

  #ready: Promise<unknown> | undefined;
  /** Its container exists (made once; a failure is tried again at the next call, never remembered). */
  ready(): Promise<unknown> {
    this.#ready ??= this.container.createIfNotExists().catch((e: unknown) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async load(key: PassKey): Promise<ExportState> {
    await this.ready();
    const blob = this.container.getBlobClient(`${passPrefix(key)}/state.json.gz`);
    let buffer: Buffer;
    let etag: string | undefined;
    let readAt: string | undefined;
    try {
      const response = await blob.download();
      etag = response.etag;
      readAt = response.metadata?.["readat"];
      buffer = await streamToBuffer(response.readableStreamBody);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return { entries: new ExportEntries(), etag: undefined, updatedAt: undefined };
      throw e;
    }
    try {
      return { ...(await readState(buffer)), etag, ...(readAt ? { readAt } : {}) };
    } catch (e) {
      throw new Error(`the export state of ${passPrefix(key)} ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** Writes the state if nobody else did since `etag` (none: only if there is no state yet); returns the new ETag. */
  async save(key: PassKey, state: Pick<ExportState, "entries" | "snapshotAt" | "generation" | "readAt">, etag: string | undefined, now = new Date()): Promise<{ etag: string; bytes: number }> {
    await this.ready();
    const header = `${JSON.stringify({
      version: 4,
      updatedAt: now.toISOString(),
      ...(state.snapshotAt ? { snapshotAt: state.snapshotAt } : {}),
      ...(state.generation ? { generation: state.generation } : {}),
      count: state.entries.size,
    })}\n`;
    // Streamed through gzip: the state is never held whole as text.
    const zip = createGzip();
    const compressed: Buffer[] = [];
    zip.on("data", (chunk: Buffer) => compressed.push(chunk));
    const done = once(zip, "end");
    zip.write(header);
    for await (const piece of state.entries.encode()) if (!zip.write(piece)) await once(zip, "drain");
    zip.end();
    await done;
    const body = Buffer.concat(compressed);
    const blob = this.container.getBlockBlobClient(`${passPrefix(key)}/state.json.gz`);
    try {
      const response = await blob.upload(body, body.length, {
        conditions: etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: "application/octet-stream", blobContentEncoding: "gzip" },
        // Read by the snapshot timer without downloading the state.
        metadata: stateMetadata(state),
      });
      state.entries.commit(new StoredIds(body, state.entries.size, Buffer.byteLength(header) + 16 * state.entries.size));
      return { etag: response.etag!, bytes: body.length };
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 412 || status === 409) throw new StateConflictError(`the export state of ${passPrefix(key)} changed since this pass read it`);
      throw e;
    }
  }

  /**
   * Notes that a complete pass read the source without changing the state: its start time goes in the blob's
   * metadata (kept beside snapshotAt), the earliest a change it did not see can have appeared.
   */
  async markRead(key: PassKey, state: Pick<ExportState, "snapshotAt" | "readAt">, etag: string): Promise<string> {
    const response = await this.container.getBlobClient(`${passPrefix(key)}/state.json.gz`).setMetadata(stateMetadata(state), { conditions: { ifMatch: etag } });
    return response.etag ?? etag;
  }

  /** Where a stopped pass left off, and the ids it had seen (so that the rest of it still tells removals). */
  async loadProgress(key: PassKey): Promise<PassProgress | undefined> {
    await this.ready();
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
    await this.ready();
    const body = await gzipAsync(JSON.stringify(progress));
    await this.container.getBlockBlobClient(`${passPrefix(key)}/progress.json.gz`).upload(body, body.length);
  }

  async clearProgress(key: PassKey): Promise<void> {
    await this.container.getBlobClient(`${passPrefix(key)}/progress.json.gz`).deleteIfExists();
  }

  /** Forgets everything of a configuration (state, progress, pass records): a new one of the same name starts afresh. */
  async forget(configuration: string): Promise<number> {
    await this.ready();
    let deleted = 0;
    for await (const blob of this.container.listBlobsFlat({ prefix: `${encodeURIComponent(configuration)}/` })) {
      // A lock leased by a running pass stays; the pass finds its state gone and writes a new one.
      if (await this.container.getBlobClient(blob.name).deleteIfExists().then((r) => r.succeeded, () => false)) deleted++;
    }
    return deleted;
  }

  /** When the pass key last sent a full snapshot, from the state blob's metadata. */
  async snapshotAt(key: PassKey): Promise<string | undefined> {
    await this.ready();
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
    await this.ready();
    const body = JSON.stringify(running);
    await this.container.getBlockBlobClient(`${passPrefix(key)}/running.json`).upload(body, Buffer.byteLength(body));
  }

  async clearRunning(key: PassKey): Promise<void> {
    await this.container.getBlobClient(`${passPrefix(key)}/running.json`).deleteIfExists();
  }

  /** The running pass's progress; none when no runner holds the lease (a runner that died leaves its marker). */
  async running(key: PassKey): Promise<RunningPass | undefined> {
    await this.ready();
    const leased = this.container
      .getBlobClient(`${passPrefix(key)}/lock`)
      .getProperties()
      .then(
        (p) => p.leaseState === "leased",
        (e: unknown) => {
          if ((e as { statusCode?: number }).statusCode === 404) return false;
          throw e;
        },
      );
    try {
      const [buffer, held] = await Promise.all([this.container.getBlobClient(`${passPrefix(key)}/running.json`).downloadToBuffer(), leased]);
      if (!held) return undefined;
      const parsed = runningSchema.safeParse(JSON.parse(buffer.toString("utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch (e) {
      await leased.catch(() => undefined);
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  /** Keeps a pass's record next to its state, one blob per pass, named so that a listing gives the newest first. */
  async recordPass(key: PassKey, record: { startedAt: string }): Promise<string> {
    await this.ready();
    const newestFirst = String(MAX_TIME - Date.parse(record.startedAt)).padStart(15, "0");
    const name = `${passPrefix(key)}/passes/${newestFirst}-${record.startedAt.replace(/[:.]/g, "")}.json`;
    const body = JSON.stringify(record);
    // The tag lets a lifecycle rule (infra/core/storage.bicep) expire pass records, and only them.
    await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, tags: { [PASS_RECORD_TAG.name]: PASS_RECORD_TAG.value } });
    return name;
  }

  /** Pass records, newest first. */
  async *passes(key: PassKey): AsyncGenerator<Record<string, unknown>> {
    await this.ready();
    for await (const blob of this.container.listBlobsFlat({ prefix: `${passPrefix(key)}/passes/` })) {
      yield JSON.parse((await this.container.getBlobClient(blob.name).downloadToBuffer()).toString("utf8")) as Record<string, unknown>;
    }
  }

  /** The last `count` pass records, newest first, as stored (the engine's PassRecord). */
  async recentPasses(key: PassKey, count: number): Promise<unknown[]> {
    await this.ready();
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
    await this.ready();
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

/** What the state blob's metadata says without downloading it: the last snapshot, the last complete read. */
function stateMetadata(state: Pick<ExportState, "snapshotAt" | "readAt">): Record<string, string> {
  return { ...(state.snapshotAt ? { snapshotat: state.snapshotAt } : {}), ...(state.readAt ? { readat: state.readAt } : {}) };
}

/** A stored state's entries; its ids stay compressed in `buffer`. Errors say what is wrong, after "the export state of <key>". */
async function readState(buffer: Buffer): Promise<Omit<ExportState, "etag">> {
  const reader = new GunzipReader(buffer);
  try {
    const first = await reader.line();
    if (first === undefined) return readLegacyState(await reader.text());
    let header: z.infer<typeof headerSchema>;
    try {
      header = headerSchema.parse(JSON.parse(first));
    } catch {
      throw new Error("has a header this version cannot read");
    }
    const numbers = await reader.bytes(16 * header.count);
    if (numbers === undefined) throw new Error("is cut short");
    const hashes = new Float64Array(header.count);
    const fingerprints = new Float64Array(header.count);
    for (let i = 0; i < header.count; i++) {
      hashes[i] = numbers.readDoubleLE(8 * i);
      fingerprints[i] = numbers.readDoubleLE(8 * (header.count + i));
      if (!Number.isSafeInteger(hashes[i]) || hashes[i]! < 0) throw new Error(`is not valid: hash ${i} is not a 53-bit hash`);
    }
    const ids = new StoredIds(buffer, header.count, Buffer.byteLength(first) + 1 + 16 * header.count);
    return {
      entries: ExportEntries.stored(hashes, fingerprints, ids),
      updatedAt: header.updatedAt,
      ...(header.snapshotAt ? { snapshotAt: header.snapshotAt } : {}),
      ...(header.generation ? { generation: header.generation } : {}),
    };
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith("Z_")) throw new Error("is not gzipped", { cause: e });
    throw e;
  } finally {
    reader.close();
  }
}

function readLegacyState(text: string): Omit<ExportState, "etag"> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("is not gzipped JSON");
  }
  const state = legacySchema.safeParse(parsed);
  if (!state.success) throw new Error(`is not valid: ${state.error.issues[0]?.message ?? "invalid"}`);
  const data = state.data;
  const ids = data.version === 2 ? data.ids : frontDecode({ shared: data.idShared, suffixes: data.idSuffixes });
  const fingerprints = data.fingerprints.map((f) => f ?? Number.NaN);
  return { entries: ExportEntries.fromIds(ids, data.hashes, fingerprints), updatedAt: data.updatedAt, ...(data.snapshotAt ? { snapshotAt: data.snapshotAt } : {}) };
}

/** The ids of a version 4 state, decompressed again each time they are walked. */
class StoredIds implements IdSource {
  constructor(
    readonly buffer: Buffer,
    readonly count: number,
    readonly offset: number,
  ) {}

  async *walk(): AsyncGenerator<string> {
    if (this.count === 0) return;
    const reader = new GunzipReader(this.buffer);
    try {
      if ((await reader.bytes(this.offset)) === undefined) throw new Error("the stored state is cut short");
      const decoder = new StringDecoder("utf8");
      yield* decodeIdLines(
        (async function* () {
          for (let chunk = await reader.chunk(); chunk !== undefined; chunk = await reader.chunk()) yield decoder.write(chunk);
          yield decoder.end();
        })(),
      );
    } finally {
      reader.close();
    }
  }
}

/** Reads a gzipped buffer a piece at a time, so that only what is asked for is decompressed and held. */
class GunzipReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;

  constructor(buffer: Buffer) {
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    gunzip.end(buffer);
    this.#iterator = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    this.#pending.push(next.value);
    this.#pendingBytes += next.value.length;
    return true;
  }

  /** The text up to the first line break (within the first 64 KB), or undefined if there is none. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const joined = Buffer.concat(this.#pending);
      const end = joined.indexOf(10);
      if (end >= 0) {
        this.#pending = [joined.subarray(end + 1)];
        this.#pendingBytes = joined.length - end - 1;
        return joined.subarray(0, end).toString("utf8");
      }
      if (this.#pendingBytes > 64 * 1024 || !(await this.#more())) return undefined;
    }
  }

  /** Everything left, as text (an older state: one JSON document). */
  async text(): Promise<string> {
    while (await this.#more());
    return Buffer.concat(this.#pending).toString("utf8");
  }

  async bytes(n: number): Promise<Buffer | undefined> {
    while (this.#pendingBytes < n) if (!(await this.#more())) return undefined;
    const joined = Buffer.concat(this.#pending);
    this.#pending = [joined.subarray(n)];
    this.#pendingBytes = joined.length - n;
    return joined.subarray(0, n);
  }

  async chunk(): Promise<Buffer | undefined> {
    if (this.#pendingBytes === 0 && !(await this.#more())) return undefined;
    const joined = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return joined;
  }

  close(): void {
    void this.#iterator.return?.();
  }
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (stream === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
