import { createHash } from "node:crypto";
import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { isConflict, isNotFound, isPreconditionFailed } from "../shared/azure-errors.js";
import { onceUntilRejected } from "../shared/once.js";
import { DEFAULT_QUOTA_WINDOW_MS, type SharedGraphQuota } from "../sources/resource-graph.js";
import { streamToBuffer } from "./blob-store.js";

/** The container of the shared Resource Graph quota in the app's storage account. */
export const GRAPH_QUOTA_CONTAINER = "graph-quota";
/** Resource Graph's documented default: 15 queries per 5 seconds per caller. */
export const DEFAULT_GRAPH_QUOTA = { queries: 15, windowMs: DEFAULT_QUOTA_WINDOW_MS };

/** What the blob holds: the times (ms) of the queries taken in the last window, oldest first. */
const stateSchema = z.object({
  capacity: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  updatedAt: z.string(),
  taken: z.array(z.number()),
});
type QuotaState = z.infer<typeof stateSchema>;

/** The blob of one identity at one endpoint: a hash, so that neither is spelled out in the account. */
export function graphQuotaBlobName(endpoint: string, clientId: string | undefined): string {
  return `${createHash("sha256")
    .update(`${new URL(endpoint).origin.toLowerCase()}\n${clientId ?? ""}`)
    .digest("hex")
    .slice(0, 40)}.json`;
}

export interface BlobGraphQuotaOptions {
  /** Queries per window: Resource Graph's default unless the identity's quota was raised (or is shared with others). */
  queries?: number;
  windowMs?: number;
  /** Added to the window: a query reaches Resource Graph a little after it is taken, and instances' clocks differ a little. */
  marginMs?: number;
  /** The longest one storage call may take before the caller counts alone. */
  timeoutMs?: number;
  /** Up to this much is waited at random after losing a race for the blob, doubled each time. */
  jitterMs?: number;
  /** Races lost in a row before the caller is told to wait a little and come back. */
  maxConflicts?: number;
  now?: () => number;
  random?: () => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resource Graph's per-caller quota shared by the app's instances through one blob, written only with ETag
 * conditions. It is a sliding window rather than a refilling bucket: a bucket refilling `queries` per window
 * lets up to twice that through in one of the service's windows; here no span of a window (plus the margin)
 * ever holds more than `queries` queries taken, whatever instance took them. One query is taken per write:
 * a query is far slower than the write, and queries taken ahead would be held from the other instances.
 */
export class BlobGraphQuota implements SharedGraphQuota {
  readonly #blob: BlockBlobClient;
  readonly #capacity: number;
  readonly #windowMs: number;
  readonly #span: number;
  readonly #timeoutMs: number;
  readonly #jitterMs: number;
  readonly #maxConflicts: number;
  readonly #now: () => number;
  readonly #random: () => number;
  // The last state read or written: taken queries are only ever added, so a stale copy errs on the side of more left, which the ETag then refuses.
  #cached: { state: QuotaState; etag: string | undefined } | undefined;
  /** Writes refused because another instance wrote first (for tests and diagnostics). */
  conflicts = 0;

  constructor(
    readonly container: ContainerClient,
    readonly blobName: string,
    options: BlobGraphQuotaOptions = {},
  ) {
    this.#blob = container.getBlockBlobClient(blobName);
    this.#capacity = options.queries ?? DEFAULT_GRAPH_QUOTA.queries;
    this.#windowMs = options.windowMs ?? DEFAULT_GRAPH_QUOTA.windowMs;
    this.#span = this.#windowMs + (options.marginMs ?? 250);
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#jitterMs = options.jitterMs ?? 20;
    this.#maxConflicts = options.maxConflicts ?? 8;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  readonly ready = onceUntilRejected(() => this.container.createIfNotExists({ abortSignal: AbortSignal.timeout(this.#timeoutMs) }));

  async take(): Promise<number> {
    await this.ready();
    for (let attempt = 0; ; attempt++) {
      const { state, etag } = this.#cached ?? (await this.#read());
      const now = this.#now();
      const live = this.#live(state.taken, now);
      if (live.length >= this.#capacity) {
        // Free again when enough of the oldest have left the window.
        return Math.max(1, live[live.length - this.#capacity]! + this.#span - now);
      }
      if (await this.#write([...live, now], etag)) return 0;
      if (attempt + 1 >= this.#maxConflicts) return 1 + Math.floor(this.#random() * this.#jitterMs);
      await this.#backOff(attempt);
    }
  }

  /**
   * Fewer left than the window's takes say (the quota is smaller than configured, or other clients of the
   * identity spend it): the difference is marked taken until the service's reset, for every instance.
   */
  async observe(remaining: number, resetsAfterMs: number): Promise<void> {
    await this.ready();
    for (let attempt = 0; attempt < this.#maxConflicts; attempt++) {
      const { state, etag } = this.#cached ?? (await this.#read());
      const now = this.#now();
      const live = this.#live(state.taken, now);
      const missing = this.#capacity - live.length - Math.max(0, remaining);
      if (missing <= 0) return;
      const until = now + resetsAfterMs - this.#span;
      if (await this.#write([...live, ...Array.from({ length: missing }, () => until)], etag)) return;
      await this.#backOff(attempt);
    }
  }

  #live(taken: number[], now: number): number[] {
    return taken.filter((t) => t > now - this.#span);
  }

  async #backOff(attempt: number): Promise<void> {
    await sleep(Math.floor(this.#random() * this.#jitterMs * 2 ** Math.min(attempt, 4)));
  }

  async #read(): Promise<{ state: QuotaState; etag: string | undefined }> {
    const empty: QuotaState = { capacity: this.#capacity, windowMs: this.#windowMs, updatedAt: new Date(0).toISOString(), taken: [] };
    try {
      const response = await this.#blob.download(0, undefined, { abortSignal: AbortSignal.timeout(this.#timeoutMs) });
      const body = (await streamToBuffer(response.readableStreamBody)).toString("utf8");
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const state = stateSchema.safeParse(parsed);
      // A blob that is not ours to read is replaced (under its ETag), never trusted.
      return { state: state.success ? state.data : empty, etag: response.etag };
    } catch (e) {
      if (isNotFound(e)) return { state: empty, etag: undefined };
      throw e;
    }
  }

  /** False when another instance wrote first: the caller reads again. */
  async #write(taken: number[], etag: string | undefined): Promise<boolean> {
    const state: QuotaState = { capacity: this.#capacity, windowMs: this.#windowMs, updatedAt: new Date(this.#now()).toISOString(), taken: taken.sort((a, b) => a - b) };
    const body = JSON.stringify(state);
    try {
      const response = await this.#blob.upload(body, Buffer.byteLength(body), {
        conditions: etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag },
        blobHTTPHeaders: { blobContentType: "application/json" },
        abortSignal: AbortSignal.timeout(this.#timeoutMs),
      });
      this.#cached = { state, etag: response.etag };
      return true;
    } catch (e) {
      if (!isPreconditionFailed(e) && !isConflict(e)) throw e;
      this.conflicts++;
      this.#cached = undefined;
      return false;
    }
  }
}
