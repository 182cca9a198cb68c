import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient } from "@azure/core-rest-pipeline";
import { actionKey, type DestinationPolicy, type LogicAppAction } from "../config/index.js";
import { isTrustedWebhook } from "../config/actions.js";
import { toEvent, type MappingInput } from "../mapping/index.js";
import type { DeadLetterStore } from "./dead-letter.js";
import { describeError } from "./log-analytics.js";
import { backoff, DEFAULT_RETRY, sleep, type RetryPolicy } from "./retry.js";
import { emptyReport, recordDeadLetter, resendUnits, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";

export interface WebhookSinkOptions {
  deadLetters: DeadLetterStore;
  destinationPolicy: DestinationPolicy;
  settings?: Readonly<Record<string, string | undefined>>;
  retry?: RetryPolicy;
  /** Tests: a client that trusts the local endpoint's certificate. */
  httpClient?: HttpClient;
}

/**
 * A Logic App (the automations API's LogicApp action) or another HTTPS webhook: each event POSTed as JSON,
 * as workflow automation triggers them. The trigger URL carries its signature, so it is a secret: never
 * logged, never in a dead letter, and only on hosts that are Logic Apps' or that the operator trusts.
 */
export class WebhookSink implements Sink {
  readonly actionKey: string;
  readonly description: string;
  readonly #url: string;
  readonly #options: WebhookSinkOptions;
  readonly #client: HttpClient;
  #report: DeliveryReport = emptyReport();

  constructor(action: LogicAppAction, options: WebhookSinkOptions) {
    this.actionKey = actionKey(action);
    const url = action.uri?.reveal() ?? (action.uriSetting === undefined ? undefined : options.settings?.[action.uriSetting]);
    if (url === undefined) throw new Error(action.uriSetting ? `the app setting ${action.uriSetting} (uriSetting) is not set` : "this LogicApp action has no trigger uri");
    if (!isTrustedWebhook(url, options.destinationPolicy)) throw new Error("the trigger uri's host is not a Logic Apps endpoint nor in DEFENDER_EXPORT_TRUSTED_HOSTS; nothing is sent there");
    this.#url = url;
    this.#options = options;
    this.#client = options.httpClient ?? createDefaultHttpClient();
    this.description = `webhook ${new URL(url).host}${action.logicAppResourceId ? ` (${action.logicAppResourceId.split("/").pop()})` : ""}`;
  }

  async write(input: MappingInput): Promise<void> {
    const item: DeliveryItem = { id: input.id, route: "webhook", payload: toEvent(input).body };
    const outcome = await this.#post(item);
    if (outcome === undefined) this.#report.sent++;
    else await this.#deadLetter([item], outcome);
  }

  /** POSTs one event; retries 429 and 5xx (honouring Retry-After), then gives the reason. */
  async #post(item: DeliveryItem): Promise<string | undefined> {
    const policy = this.#options.retry ?? DEFAULT_RETRY;
    let reason = "not sent";
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      await backoff(policy, attempt);
      this.#report.requests++;
      try {
        const response = await this.#client.sendRequest(
          createPipelineRequest({ url: this.#url, method: "POST", body: JSON.stringify(item.payload), headers: createHttpHeaders({ "content-type": "application/json" }), timeout: 30_000 }),
        );
        if (response.status >= 200 && response.status < 300) return undefined;
        reason = `HTTP ${response.status}`;
        if (response.status !== 429 && response.status < 500) return reason;
        const retryAfter = Number(response.headers.get("retry-after"));
        if (Number.isFinite(retryAfter) && retryAfter > 0 && attempt < policy.attempts) await sleep(Math.min(retryAfter, 60) * 1000);
      } catch (e) {
        // The error may quote the URL: describeError redacts its signature.
        reason = describeError(e);
      }
    }
    return reason;
  }

  async flush(): Promise<DeliveryReport> {
    const report = this.#report;
    this.#report = emptyReport();
    return report;
  }

  resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    return resendUnits(items, (item) => [item], (item) => this.#post(item));
  }

  #deadLetter(items: DeliveryItem[], reason: string): Promise<void> {
    return recordDeadLetter(this.#options.deadLetters, this, this.#report, items, reason, (this.#options.retry ?? DEFAULT_RETRY).attempts);
  }

  async close(): Promise<void> {}
}
