import type { TokenCredential } from "@azure/core-auth";
import type { HttpClient } from "@azure/core-rest-pipeline";
import type { ContainerClient } from "@azure/storage-blob";
import type { Action, DestinationPolicy } from "../config/index.js";
import type { DeadLetterStore, LetterFilter } from "./dead-letter.js";
import { EventHubSink } from "./event-hubs.js";
import { LogAnalyticsSink } from "./log-analytics.js";
import type { BackoffStore } from "./delivery.js";
import type { RetryPolicy, SdkRetryOptions } from "./retry.js";
import type { Sink } from "./types.js";
import { WebhookSink } from "./webhook.js";
import { BlobSink } from "./blob.js";

export { BlobDeadLetterStore, type DeadLetter, type DeadLetterStore, type LetterFilter } from "./dead-letter.js";

/** Containers in the app's own storage account. */
export const DEAD_LETTER_CONTAINER = "dead-letters";
export const OVERFLOW_CONTAINER = "overflow";
export const BACKOFF_CONTAINER = "action-backoff";
export { EventHubSink, partitionIndex } from "./event-hubs.js";
export { LogAnalyticsSink, LOGS_INGESTION_BATCH_BYTES, overflowBlobName } from "./log-analytics.js";
export { DEFAULT_RETRY, type RetryPolicy, type SdkRetryOptions } from "./retry.js";
export { BlobBackoffStore, MemoryBackoffStore, type Backoff, type BackoffStore } from "./delivery.js";
export { describeError } from "./errors.js";
export { emptyReport, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";
export { WebhookSink } from "./webhook.js";
export { BlobSink, blobPrefix, containerFor } from "./blob.js";
export { previewFor, type DestinationPreview, type PreviewOptions } from "./preview.js";

/** Everything a sink may need; each sink takes the part it uses. */
export interface SinkDependencies {
  credential: TokenCredential;
  deadLetters: DeadLetterStore;
  destinationPolicy: DestinationPolicy;
  /** App settings (process.env in the hosts), for connectionStringSetting and uriSetting. */
  settings?: Readonly<Record<string, string | undefined>>;
  overflow?: ContainerClient;
  retry?: RetryPolicy;
  sdkRetryOptions?: SdkRetryOptions;
  /** Backoffs of failing destinations, shared across passes (and instances, in Blob storage). */
  backoff?: BackoffStore;
  /** The configuration the sinks deliver for: its dead letters are filed under it. */
  configuration?: string;
  /** Tests: trust a local endpoint's certificate. */
  tlsCa?: string;
  httpClient?: HttpClient;
}

/** The sink that delivers to an action. Throws, naming the problem, when the action cannot deliver. */
export function createSink(action: Action, deps: SinkDependencies): Sink {
  switch (action.actionType) {
    case "Workspace":
      return new LogAnalyticsSink(action, deps);
    case "EventHub":
      return new EventHubSink(action, deps);
    case "LogicApp":
      return new WebhookSink(action, deps);
    case "StorageAccount":
      return new BlobSink(action, deps);
  }
}

export interface ReplayReport {
  letters: number;
  resent: number;
  failed: number;
  /** Dead letters whose action is not in the configuration: left in place. */
  skipped: number;
}

/**
 * Sends dead-lettered payloads again, exactly as they were, through the sinks of their actions. A letter
 * that went through is removed; what fails again is written back as a new letter with the new reason. The
 * letters are those there when the replay starts: one written back is not tried again in the same replay.
 */
export async function replayDeadLetters(store: DeadLetterStore, sinks: readonly Sink[], filter: LetterFilter = {}): Promise<ReplayReport> {
  const byKey = new Map(sinks.map((s) => [s.actionKey, s]));
  const report: ReplayReport = { letters: 0, resent: 0, failed: 0, skipped: 0 };
  // A configuration's own letters, and those filed (before letters were kept per configuration) under its actions.
  const scopes = filter.actionKey !== undefined || filter.configuration === undefined ? [filter] : [{ configuration: filter.configuration }, ...sinks.map((s) => ({ actionKey: s.actionKey }))];
  const names: string[] = [];
  for (const scope of scopes) for await (const { name } of store.names(scope)) names.push(name);
  for (const name of names) {
    const letter = await store.read(name);
    if (letter === undefined) continue;
    report.letters++;
    const sink = byKey.get(letter.actionKey);
    if (sink === undefined) {
      report.skipped++;
      continue;
    }
    const outcome = await sink.resend(letter.items);
    report.resent += letter.items.length - outcome.failed.length;
    report.failed += outcome.failed.length;
    if (outcome.failed.length > 0) {
      const configuration = letter.configuration ?? filter.configuration;
      await store.put({
        actionKey: letter.actionKey,
        destination: letter.destination,
        reason: outcome.reason ?? letter.reason,
        attempts: letter.attempts + 1,
        items: outcome.failed,
        ...(configuration !== undefined ? { configuration } : {}),
      });
    }
    await store.remove(name);
  }
  return report;
}
