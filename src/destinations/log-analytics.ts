import { statusOf } from "../shared/azure-errors.js";
import { createDefaultHttpClient, createPipelineRequest, RestError, type HttpClient, type PipelinePolicy } from "@azure/core-rest-pipeline";
import { LogsIngestionClient } from "@azure/monitor-ingestion";
import { actionKey } from "../config/action-key.js";
import type { WorkspaceAction } from "../config/model.js";
import { urlAllowed } from "../config/endpoints.js";
import { jsonBytes } from "../mapping/cut.js";
import { streamFor, toLogAnalyticsRow } from "../mapping/to-row.js";
import type { OutgoingRecord } from "../records/record.js";
import { parseJson } from "../shared/json.js";
import { DeliveryLedger } from "./delivery.js";
import { describeError } from "./errors.js";
import { InFlight } from "./in-flight.js";
import { OverflowOriginals, type OpenBlob, type Reservation } from "./overflow.js";
import { DEFAULT_RETRY, SENT, withRetries, type Attempt, type SendOutcome } from "./retry.js";
import { EncodedItem, groupBy, resendUnits, type DeliveryItem, type DeliveryReport, type Resent, type Sink, type SinkDependencies } from "./sink.js";

/**
 * One upload call carries at most this many bytes of JSON: the service refuses over 1,048,576 bytes, and
 * the SDK splits by character count, which multi-byte text would let past that. Under this, one call is
 * one request.
 */
export const LOGS_INGESTION_BATCH_BYTES = 1_000_000;

/** Container, in the app's own storage account, of the whole originals of cut rows. */
export const OVERFLOW_CONTAINER = "overflow";

export type LogAnalyticsSinkOptions = Pick<
  SinkDependencies,
  "credential" | "deadLetters" | "allowedDestinations" | "overflow" | "retry" | "concurrency" | "tlsCa" | "sdkRetryOptions" | "backoff" | "configuration"
>;

/** Uploads in flight at once, unless told. */
const CONCURRENCY = 4;
/** Answers that refuse the rows themselves (invalid, too large): trying again would fail alike. */
const ROWS_REFUSED = new Set([400, 413]);

interface Batch {
  stream: string;
  items: DeliveryItem[];
  bytes: number;
  /** The blobs of originals its cut rows point into: written before the batch is sent. */
  originals: OpenBlob[];
  /**
   * The request's body, `[row,row,...]` as UTF-8, written row by row: the items' JSON are views of it. As large
   * as a request may be (`bytes` counts a comma with every row, one more than the body has).
   */
  body: Buffer;
  /** How much of the body is written: `[row,row`, the closing bracket to come. */
  written: number;
  /** Closed for sending: no row is written into it any more. */
  sealed: boolean;
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
  readonly #inFlight: InFlight;
  readonly #ledger: DeliveryLedger;
  readonly #originals: OverflowOriginals | undefined;
  /** The mapping's options, one object for every row: a cut row reserves its original's place (`#reservation`). */
  readonly #rowOptions: { overflowBlob?: (input: OutgoingRecord) => string };
  #reservation: Reservation | undefined;

  constructor(action: WorkspaceAction, options: LogAnalyticsSinkOptions) {
    if (action.dataCollectionEndpoint === undefined || action.dataCollectionRuleId === undefined) {
      throw new Error("this Workspace action has no dataCollectionEndpoint and dataCollectionRuleId: Log Analytics cannot be written without them");
    }
    const endpoint = urlAllowed("logsIngestion", action.dataCollectionEndpoint, options.allowedDestinations);
    if (!endpoint.ok) throw new Error(`dataCollectionEndpoint ${endpoint.reason}`);
    this.#action = action;
    this.#options = options;
    this.#ruleId = action.dataCollectionRuleId;
    this.#endpoint = action.dataCollectionEndpoint.replace(/\/+$/, "");
    this.actionKey = actionKey(action);
    this.description = `Log Analytics via ${action.dataCollectionEndpoint} rule ${action.dataCollectionRuleId}`;
    this.#ledger = new DeliveryLedger(this, options);
    this.#inFlight = new InFlight(options.concurrency ?? CONCURRENCY);
    this.#originals = options.overflow && new OverflowOriginals(options.overflow, (blob, e) => this.#ledger.note(`the originals of cut rows could not be kept in ${blob}: ${describeError(e)}`));
    const originals = this.#originals;
    this.#rowOptions = originals ? { overflowBlob: (input) => (this.#reservation = originals.reserve(input)).pointer } : {};
    const counter: PipelinePolicy = {
      name: "defenderExportIngestionRequests",
      sendRequest: (request, next) => {
        this.#ledger.countRequest();
        return next(request);
      },
    };
    this.#client = new LogsIngestionClient(action.dataCollectionEndpoint, options.credential, {
      additionalPolicies: [{ policy: counter, position: "perRetry" }],
      ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
      ...(options.sdkRetryOptions ? { retryOptions: options.sdkRetryOptions } : {}),
    });
  }

  write(input: OutgoingRecord): Promise<void> | undefined {
    const originals = this.#originals;
    this.#reservation = undefined;
    const result = toLogAnalyticsRow(input, this.#rowOptions);
    // Set by the mapping just above, when the row was cut.
    const reservation = this.#reservation as Reservation | undefined;
    if (result === undefined) return undefined; // a data type without a table
    const stream = streamFor(result.table, this.#action.streams);
    if (!result.ok) return this.#ledger.refused([{ id: input.id, route: stream, payload: input.record }], `cannot fit the row in 32 KB: ${result.reason}`, 0);
    let original: OpenBlob | undefined;
    if (result.cut.length > 0) {
      this.#ledger.countCut();
      original = reservation?.keep();
      // A full blob is written now, while rows are mapped; the batches that point into it wait for it.
      if (original !== undefined && originals!.full(original)) void originals!.written(original);
    }
    const batch = this.#open.get(stream);
    // Encoded now, row by row, into the request's body: a request is then bytes written once, where joining the
    // rows' text would widen a whole megabyte to two bytes a character for one row outside Latin-1, and encode it
    // all again, and a buffer per row would be allocated and copied again into the body.
    if (batch !== undefined && !batch.sealed && LOGS_INGESTION_BATCH_BYTES - batch.bytes > result.json.length * 3) {
      // Fits whatever its characters (a UTF-16 unit is at most 3 UTF-8 bytes): no byte count first.
      this.#append(batch, input.id, result.json, original);
      return undefined;
    }
    const bytes = Buffer.byteLength(result.json, "utf8");
    if (batch !== undefined && batch.bytes + bytes + 1 <= LOGS_INGESTION_BATCH_BYTES) {
      this.#append(batch, input.id, result.json, original);
      return undefined;
    }
    if (batch === undefined) {
      this.#append(this.#opened(stream), input.id, result.json, original);
      return undefined;
    }
    // Opened after the wait: another row may have opened one meanwhile.
    return this.#dispatch(batch).then(() => this.#append(this.#opened(stream), input.id, result.json, original));
  }

  /** The stream's open batch, or a new one. */
  #opened(stream: string): Batch {
    let batch = this.#open.get(stream);
    if (batch === undefined) {
      batch = { stream, items: [], bytes: EMPTY_REQUEST_BYTES, originals: [], body: Buffer.allocUnsafeSlow(LOGS_INGESTION_BATCH_BYTES), written: 1, sealed: false };
      batch.body[0] = OPEN_BRACKET;
      this.#open.set(stream, batch);
    }
    return batch;
  }

  /**
   * Writes a row's JSON into the batch's body, after a comma, and keeps its item: the bytes it was written as (a
   * view of the body). The caller has made sure it fits, or the batch is empty.
   */
  #append(batch: Batch, id: string, json: string, original: OpenBlob | undefined): void {
    let at = batch.written;
    if (batch.items.length > 0) batch.body[at++] = COMMA_BYTE;
    const bytes = batch.body.write(json, at, "utf8");
    batch.items.push(new EncodedItem(id, batch.stream, batch.body.subarray(at, at + bytes), bytes));
    batch.written = at + bytes;
    batch.bytes += bytes + 1;
    if (original !== undefined && !batch.originals.includes(original)) batch.originals.push(original);
  }

  /** Sends a full batch, keeping at most `concurrency` uploads in flight (memory stays bounded). */
  #dispatch(batch: Batch): Promise<void> {
    this.#open.delete(batch.stream);
    batch.sealed = true;
    batch.body[batch.written] = CLOSE_BRACKET;
    const body = batch.body.subarray(0, batch.written + 1);
    // No row is sent before the original it points to is kept.
    const kept = batch.originals.map((blob) => this.#originals!.written(blob));
    return this.#inFlight.start(async () => {
      await Promise.all(kept);
      await this.#deliver(batch.stream, batch.items, body);
    });
  }

  async flush(): Promise<DeliveryReport> {
    for (const batch of [...this.#open.values()]) await this.#dispatch(batch);
    await this.#inFlight.drained();
    return this.#ledger.take();
  }

  /**
   * Uploads request by request; what fails every attempt is dead-lettered, and backs the action off. `body`: a
   * batch's request, already written (its items are one request's worth).
   */
  async #deliver(stream: string, items: DeliveryItem[], body?: Buffer): Promise<void> {
    for (const chunk of body === undefined ? requestChunks(items) : [items]) {
      if (!(await this.#ledger.mayTry(stream))) {
        await this.#ledger.hold(stream, chunk);
        continue;
      }
      await this.#ledger.settle(stream, chunk, await this.#upload(stream, chunk, body));
    }
  }

  /** One request's rows, tried again with backoff after the SDK's own retries. */
  #upload(stream: string, items: readonly DeliveryItem[], body?: Buffer): Promise<SendOutcome> {
    return withRetries(this.#options.retry ?? DEFAULT_RETRY, () => this.#post(stream, body ?? requestBody(items)), { refuses: (e) => ROWS_REFUSED.has(statusOf(e) ?? 0) });
  }

  /**
   * One request of rows already serialized, through the SDK client's own pipeline (token, retries with
   * Retry-After, gzip, API version): the SDK's upload would serialize every row twice more, to measure
   * and to send. Throws what the pipeline throws, after its retries.
   */
  async #post(stream: string, body: Buffer): Promise<Attempt> {
    const request = createPipelineRequest({
      url: `${this.#endpoint}/dataCollectionRules/${encodeURIComponent(this.#ruleId)}/streams/${encodeURIComponent(stream)}`,
      method: "POST",
      body,
    });
    request.headers.set("Content-Type", "application/json");
    request.headers.set("Content-Encoding", "gzip");
    request.headers.set("Accept", "application/json");
    const response = await this.#client.pipeline.sendRequest(this.#http, request);
    if (response.status === 204 || response.status === 200) return SENT;
    const answer = parseJson(response.bodyAsText ?? "");
    const error = ((answer.ok ? (answer.value as { error?: unknown } | null)?.error : undefined) ?? {}) as { code?: unknown; message?: unknown };
    const message = typeof error.message === "string" ? error.message : `the Logs Ingestion API answered ${response.status}`;
    const reason = describeError(new RestError(message, { statusCode: response.status, ...(typeof error.code === "string" ? { code: error.code } : {}) }));
    return ROWS_REFUSED.has(response.status) ? { ok: false, reason, retry: false, final: true } : { ok: false, reason, retry: true };
  }

  resend(items: readonly DeliveryItem[]): Promise<Resent> {
    const units = [...groupBy(items, (i) => i.route)].flatMap(([stream, group]) => [...requestChunks(group)].map((chunk) => ({ items: chunk, send: () => this.#upload(stream, chunk) })));
    return resendUnits(units);
  }

  async close(): Promise<void> {
    await this.#inFlight.drained();
  }
}

// A request body is `[row,row,...]`: the brackets, and each row with its comma.
const EMPTY_REQUEST_BYTES = 2;
function bytesInRequest(item: DeliveryItem): number {
  return (item.bytes ?? jsonBytes(item.payload)) + 1;
}

const OPEN_BRACKET = 0x5b;
const COMMA_BYTE = 0x2c;
const CLOSE_BRACKET = 0x5d;
const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

/** `[row,row,...]` as UTF-8, from the rows' bytes when they have them. */
function requestBody(items: readonly DeliveryItem[]): Buffer {
  const parts: Buffer[] = [OPEN];
  for (const item of items) {
    if (parts.length > 1) parts.push(COMMA);
    parts.push(item.json ?? Buffer.from(JSON.stringify(item.payload), "utf8"));
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
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
