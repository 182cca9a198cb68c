import { createHash } from "node:crypto";
import type { TokenCredential } from "@azure/core-auth";
import { createDefaultHttpClient, createPipelineRequest, RestError, type HttpClient, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { LogsIngestionClient } from "@azure/monitor-ingestion";
import type { ContainerClient } from "@azure/storage-blob";
import { actionKey, redactSecretsInText, type WorkspaceAction } from "../config/index.js";
import { jsonBytes, streamFor, toLogAnalyticsRow, type Json, type MappingInput } from "../mapping/index.js";
import { parseJson } from "../shared/json.js";
import type { DeadLetterStore } from "./dead-letter.js";
import { backoff, DEFAULT_RETRY, type RetryPolicy, type SdkRetryOptions } from "./retry.js";
import { emptyReport, groupBy, recordDeadLetter, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";

/**
 * One upload call carries at most this many bytes of JSON: the service refuses over 1,048,576 bytes, and
 * the SDK splits by character count, which multi-byte text would let past that. Under this, one call is
 * one request.
 */
export const LOGS_INGESTION_BATCH_BYTES = 1_000_000;

export interface LogAnalyticsSinkOptions {
  credential: TokenCredential;
  deadLetters: DeadLetterStore;
  /** Where whole originals of cut rows are kept (container `overflow`); none: the row says only what was cut. */
  overflow?: ContainerClient;
  retry?: RetryPolicy;
  /** Uploads in flight at once. */
  concurrency?: number;
  tlsCa?: string;
  sdkRetryOptions?: SdkRetryOptions;
}

interface Batch {
  stream: string;
  items: DeliveryItem[];
  bytes: number;
}

/** Log Analytics through the Logs Ingestion API: one data collection rule, one stream per table. */
export class LogAnalyticsSink implements Sink {
  readonly actionKey: string;
  readonly description: string;
  readonly #client: LogsIngestionClient;
  readonly #http: HttpClient = createDefaultHttpClient();
  readonly #endpoint: string;
  readonly #ruleId: string;
  readonly #action: WorkspaceAction;
  readonly #options: LogAnalyticsSinkOptions;
  readonly #open = new Map<string, Batch>();
  readonly #inFlight = new Set<Promise<void>>();
  #report: DeliveryReport = emptyReport();
  #overflowReady: Promise<unknown> | undefined;

  constructor(action: WorkspaceAction, options: LogAnalyticsSinkOptions) {
    if (action.dataCollectionEndpoint === undefined || action.dataCollectionRuleId === undefined) {
      throw new Error("this Workspace action has no dataCollectionEndpoint and dataCollectionRuleId: Log Analytics cannot be written without them");
    }
    this.#action = action;
    this.#options = options;
    this.#ruleId = action.dataCollectionRuleId;
    this.#endpoint = action.dataCollectionEndpoint.replace(/\/+$/, "");
    this.actionKey = actionKey(action);
    this.description = `Log Analytics via ${action.dataCollectionEndpoint} rule ${action.dataCollectionRuleId}`;
    const counter: PipelinePolicy = {
      name: "defenderExportIngestionRequests",
      sendRequest: (request, next) => {
        this.#report.requests++;
        return next(request);
      },
    };
    this.#client = new LogsIngestionClient(action.dataCollectionEndpoint, options.credential, {
      additionalPolicies: [{ policy: counter, position: "perRetry" }],
      ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
      ...(options.sdkRetryOptions ? { retryOptions: options.sdkRetryOptions } : {}),
    });
  }

  async write(input: MappingInput): Promise<void> {
    const overflow = this.#options.overflow;
    let overflowName: string | undefined;
    const result = toLogAnalyticsRow(input, overflow ? { overflowBlob: () => `${overflow.containerName}/${(overflowName = overflowBlobName(input))}` } : {});
    if (result === undefined) return; // no table for this data type (attack paths)
    const stream = streamFor(result.table, this.#action.streams);
    if (!result.ok) {
      await this.#deadLetter([{ id: input.id, route: stream, payload: input.record }], `cannot fit the row in 32 KB: ${result.reason}`, 0);
      return;
    }
    if (result.cut.length > 0) {
      this.#report.cut++;
      if (overflowName !== undefined) await this.#keepOriginal(overflowName, input.record);
    }
    await this.#add({ id: input.id, route: stream, payload: result.row, json: result.json, bytes: Buffer.byteLength(result.json, "utf8") });
  }

  async #add(item: DeliveryItem): Promise<void> {
    const bytes = bytesInRequest(item);
    let batch = this.#open.get(item.route);
    if (batch !== undefined && batch.bytes + bytes > LOGS_INGESTION_BATCH_BYTES) {
      await this.#dispatch(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { stream: item.route, items: [], bytes: EMPTY_REQUEST_BYTES };
      this.#open.set(item.route, batch);
    }
    batch.items.push(item);
    batch.bytes += bytes;
  }

  /** Sends a full batch, keeping at most `concurrency` uploads in flight (memory stays bounded). */
  async #dispatch(batch: Batch): Promise<void> {
    this.#open.delete(batch.stream);
    while (this.#inFlight.size >= (this.#options.concurrency ?? 4)) await Promise.race(this.#inFlight);
    const sending = this.#deliver(batch.stream, batch.items).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  async flush(): Promise<DeliveryReport> {
    for (const batch of [...this.#open.values()]) await this.#dispatch(batch);
    await Promise.all(this.#inFlight);
    const report = this.#report;
    this.#report = emptyReport();
    return report;
  }

  /** Uploads, retries what failed after the SDK's own retries, and dead-letters what still fails. */
  async #deliver(stream: string, items: DeliveryItem[]): Promise<void> {
    const outcome = await this.#upload(stream, items);
    this.#report.sent += items.length - outcome.failed.length;
    if (outcome.failed.length > 0) await this.#deadLetter(outcome.failed, outcome.reason ?? "upload failed", this.#options.retry?.attempts ?? DEFAULT_RETRY.attempts);
  }

  async #upload(stream: string, items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    const policy = this.#options.retry ?? DEFAULT_RETRY;
    let pending = [...items];
    let reason: string | undefined;
    for (let attempt = 1; attempt <= policy.attempts && pending.length > 0; attempt++) {
      await backoff(policy, attempt);
      const failed: DeliveryItem[] = [];
      for (const chunk of requestChunks(pending)) {
        const error = await this.#post(stream, chunk);
        if (error !== undefined) {
          failed.push(...chunk);
          reason = describeError(error);
        }
      }
      pending = failed;
    }
    return reason === undefined || pending.length === 0 ? { failed: [] } : { failed: pending, reason };
  }

  /**
   * One request of rows already serialized, through the SDK client's own pipeline (token, retries with
   * Retry-After, gzip, API version): the SDK's upload would serialize every row twice more, to measure
   * and to send. Returns the error, if any, after the pipeline's retries.
   */
  async #post(stream: string, items: readonly DeliveryItem[]): Promise<Error | undefined> {
    const body = `[${items.map((i) => i.json ?? JSON.stringify(i.payload)).join(",")}]`;
    const request = createPipelineRequest({
      url: `${this.#endpoint}/dataCollectionRules/${encodeURIComponent(this.#ruleId)}/streams/${encodeURIComponent(stream)}`,
      method: "POST",
      body,
    });
    request.headers.set("Content-Type", "application/json");
    request.headers.set("Content-Encoding", "gzip");
    request.headers.set("Accept", "application/json");
    try {
      const response = await this.#client.pipeline.sendRequest(this.#http, request);
      if (response.status === 204 || response.status === 200) return undefined;
      const body = parseJson(response.bodyAsText ?? "");
      const error = ((body.ok ? (body.value as { error?: unknown } | null)?.error : undefined) ?? {}) as { code?: unknown; message?: unknown };
      const message = typeof error.message === "string" ? error.message : `the Logs Ingestion API answered ${response.status}`;
      return new RestError(message, { statusCode: response.status, ...(typeof error.code === "string" ? { code: error.code } : {}) });
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  async resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    const failed: DeliveryItem[] = [];
    let reason: string | undefined;
    for (const [stream, group] of groupBy(items, (i) => i.route)) {
      const outcome = await this.#upload(stream, group);
      failed.push(...outcome.failed);
      reason ??= outcome.reason;
    }
    return reason === undefined ? { failed } : { failed, reason };
  }

  #deadLetter(items: DeliveryItem[], reason: string, attempts: number): Promise<void> {
    return recordDeadLetter(this.#options.deadLetters, this, this.#report, items, reason, attempts);
  }

  async #keepOriginal(name: string, record: Json): Promise<void> {
    const container = this.#options.overflow!;
    const body = JSON.stringify(record);
    try {
      // Once per sink, not per row: a cut row is one request, not two.
      this.#overflowReady ??= container.createIfNotExists().catch((e: unknown) => {
        this.#overflowReady = undefined;
        throw e;
      });
      await this.#overflowReady;
      await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" } });
    } catch (e) {
      this.#report.failures.push(`the original of a cut row could not be kept in ${container.containerName}/${name}: ${describeError(e)}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#inFlight);
  }
}

// A request body is `[row,row,...]`: the brackets, and each row with its comma.
const EMPTY_REQUEST_BYTES = 2;
function bytesInRequest(item: DeliveryItem): number {
  return (item.bytes ?? jsonBytes(item.payload)) + 1;
}

/** Items in requests of at most LOGS_INGESTION_BATCH_BYTES of JSON (a replay may hold more than one request's worth). */
function* requestChunks(items: readonly DeliveryItem[]): Generator<DeliveryItem[]> {
  let chunk: DeliveryItem[] = [];
  let bytes = EMPTY_REQUEST_BYTES;
  for (const item of items) {
    const size = bytesInRequest(item);
    if (chunk.length > 0 && bytes + size > LOGS_INGESTION_BATCH_BYTES) {
      yield chunk;
      chunk = [];
      bytes = EMPTY_REQUEST_BYTES;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Where the whole original of a cut record is kept: by record and export time, so re-exports do not overwrite. */
export function overflowBlobName(input: MappingInput): string {
  const digest = createHash("sha256").update(input.id).digest("hex").slice(0, 32);
  return `${input.eventSource.toLowerCase()}/${digest}/${input.exportedAt.replace(/[:.]/g, "")}.json`;
}

export function describeError(e: unknown): string {
  const err = e as { statusCode?: number; code?: string; name?: string; message?: string } | undefined;
  if (err === undefined || err === null) return "unknown error";
  const status = err.statusCode === undefined ? "" : `HTTP ${err.statusCode} `;
  const code = err.code ?? err.name ?? "";
  const message = (err.message ?? String(e)).split("\n")[0]!.slice(0, 300);
  return redactSecretsInText(`${status}${code ? `${code}: ` : ""}${message}`.trim());
}
