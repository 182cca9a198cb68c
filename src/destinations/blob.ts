import { randomUUID } from "node:crypto";
import { BlobServiceClient, type ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { actionKey } from "../config/action-key.js";
import type { AllowedDestinations } from "../config/endpoints.js";
import type { StorageAccountAction } from "../config/model.js";
import { blobServiceUrl } from "../config/actions.js";
import { blobConnectionProblem } from "../config/endpoints.js";
import { EVENT_CATEGORIES, toEvent } from "../mapping/eventhub.js";
import { jsonBytes } from "../mapping/cut.js";
import type { OutgoingRecord } from "../records/record.js";
import { EVENT_SOURCE_DATA_TYPE } from "../datatypes/registry.js";
import { DeliveryLedger } from "./delivery.js";
import { DEFAULT_RETRY, SENT, withRetries, type SdkRetryOptions, type SendOutcome } from "./retry.js";
import { resolveSetting } from "./settings.js";
import { groupBy, resendUnits, type DeliveryItem, type DeliveryReport, type Resent, type Sink, type SinkDependencies } from "./sink.js";
import { onceUntilRejected } from "../shared/once.js";

export type BlobSinkOptions = Pick<SinkDependencies, "credential" | "deadLetters" | "allowedDestinations" | "destinationAppSettings" | "retry" | "sdkRetryOptions" | "backoff" | "configuration">;

/** One blob holds up to this many bytes of JSON lines. */
export const BLOB_BATCH_BYTES = 4 * 1024 * 1024;

/** `defender-securityalert`: a container per event type, as the XDR storage destination keeps one per table. */
export function containerFor(category: string): string {
  return `defender-${category.toLowerCase()}`;
}

/**
 * Blob storage, as the Defender XDR storage destination writes it: a container per event type, JSON lines
 * of `{time, tenantId, category, properties}` records, in block blobs named by date and hour
 * (`y=2026/m=11/d=22/h=03/<time>-<id>.json`).
 */
export class BlobSink implements Sink {
  readonly actionKey: string;
  readonly description: string;
  readonly #service: BlobServiceClient;
  readonly #options: BlobSinkOptions;
  readonly #open = new Map<string, { items: DeliveryItem[]; bytes: number }>();
  readonly #containers = new Map<string, () => Promise<ContainerClient>>();
  readonly #ledger: DeliveryLedger;

  constructor(action: StorageAccountAction, options: BlobSinkOptions) {
    this.actionKey = actionKey(action);
    this.#options = options;
    const pipeline = options.sdkRetryOptions ? { retryOptions: storageRetryOptions(options.sdkRetryOptions) } : {};
    const fromSetting = resolveSetting(action, options.destinationAppSettings, options.allowedDestinations, (connection) => blobServiceFor(connection, pipeline, options.allowedDestinations));
    if (fromSetting !== undefined) {
      this.#service = fromSetting;
    } else {
      if (action.blobServiceUrl === undefined) throw new Error("this StorageAccount action has neither blobServiceUrl nor connectionStringSetting");
      const checked = blobServiceUrl(action.blobServiceUrl, options.allowedDestinations);
      if (!checked.ok) throw new Error(`blobServiceUrl ${checked.reason}`);
      this.#service = new BlobServiceClient(action.blobServiceUrl, options.credential, pipeline);
    }
    this.description = `Blob storage ${new URL(this.#service.url).host}`;
    this.#ledger = new DeliveryLedger(this, options);
  }

  async write(input: OutgoingRecord): Promise<void> {
    const category = EVENT_CATEGORIES[EVENT_SOURCE_DATA_TYPE[input.eventSource]];
    const item: DeliveryItem = { id: input.id, route: `${containerFor(category)}/${blobPrefix(input.exportedAt)}`, payload: toEvent(input, { format: "xdr" }).body };
    const bytes = jsonBytes(item.payload) + 1;
    let open = this.#open.get(item.route);
    if (open !== undefined && open.bytes + bytes > BLOB_BATCH_BYTES) {
      await this.#deliver(item.route, open.items);
      open = undefined;
    }
    if (open === undefined) {
      open = { items: [], bytes: 0 };
      this.#open.set(item.route, open);
    }
    open.items.push(item);
    open.bytes += bytes;
  }

  async #deliver(route: string, items: DeliveryItem[]): Promise<void> {
    this.#open.delete(route);
    const lane = route.split("/")[0]!;
    if (!(await this.#ledger.mayTry(lane))) return this.#ledger.hold(lane, items);
    await this.#ledger.settle(lane, items, await this.#upload(route, items));
  }

  /** One block blob per batch: a retry writes the same name, so a batch is never stored twice. */
  #upload(route: string, items: readonly DeliveryItem[]): Promise<SendOutcome> {
    const [containerName, ...prefix] = route.split("/");
    const name = `${prefix.join("/")}/${new Date().toISOString().replace(/[:.]/g, "")}-${randomUUID()}.json`;
    const body = items.map((i) => JSON.stringify(i.payload)).join("\n") + "\n";
    return withRetries(
      this.#options.retry ?? DEFAULT_RETRY,
      async () => {
        const container = await this.#container(containerName!);
        await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/x-ndjson" } });
        return SENT;
      },
      { onAttempt: () => this.#ledger.countRequest() },
    );
  }

  #container(name: string): Promise<ContainerClient> {
    let made = this.#containers.get(name);
    if (made === undefined) {
      const client = this.#service.getContainerClient(name);
      made = onceUntilRejected(() => client.createIfNotExists().then(() => client));
      this.#containers.set(name, made);
    }
    return made();
  }

  async flush(): Promise<DeliveryReport> {
    for (const [route, open] of [...this.#open]) await this.#deliver(route, open.items);
    return this.#ledger.take();
  }

  resend(items: readonly DeliveryItem[]): Promise<Resent> {
    return resendUnits([...groupBy(items, (i) => i.route)].map(([route, group]) => ({ items: group, send: () => this.#upload(route, group) })));
  }

  async close(): Promise<void> {}
}

/**
 * The client a blob connection string makes, when the string has only an account's keys and the endpoint it
 * will write to (as the SDK read it; a SAS rides in its query) is allowed; undefined otherwise.
 */
function blobServiceFor(connection: string, pipeline: StoragePipelineOptions, allowed: AllowedDestinations): BlobServiceClient | undefined {
  if (blobConnectionProblem(connection) !== undefined) return undefined;
  let service: BlobServiceClient;
  try {
    service = BlobServiceClient.fromConnectionString(connection, pipeline);
  } catch {
    return undefined;
  }
  const endpoint = new URL(service.url);
  return blobServiceUrl(`${endpoint.origin}${endpoint.pathname}`, allowed).ok ? service : undefined;
}

/** The storage SDK counts tries in all where the other SDKs count retries; `timeoutInMs` is Event Hubs' own. */
function storageRetryOptions(sdk: SdkRetryOptions): NonNullable<StoragePipelineOptions["retryOptions"]> {
  return {
    ...(sdk.maxRetries !== undefined ? { maxTries: sdk.maxRetries + 1 } : {}),
    ...(sdk.retryDelayInMs !== undefined ? { retryDelayInMs: sdk.retryDelayInMs } : {}),
    ...(sdk.maxRetryDelayInMs !== undefined ? { maxRetryDelayInMs: sdk.maxRetryDelayInMs } : {}),
  };
}

/** `y=2026/m=11/d=22/h=03`: the hour the records were exported in. */
export function blobPrefix(exportedAt: string): string {
  const t = new Date(exportedAt);
  const two = (n: number) => String(n).padStart(2, "0");
  return `y=${t.getUTCFullYear()}/m=${two(t.getUTCMonth() + 1)}/d=${two(t.getUTCDate())}/h=${two(t.getUTCHours())}`;
}
