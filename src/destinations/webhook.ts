import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient } from "@azure/core-rest-pipeline";
import { actionKey, type DestinationPolicy, type LogicAppAction } from "../config/index.js";
import { isTrustedWebhook } from "../config/actions.js";
import { toEvent, type MappingInput } from "../mapping/index.js";
import type { DeadLetterStore } from "./dead-letter.js";
import { DeliveryLedger, MemoryBackoffStore, type BackoffStore } from "./delivery.js";
import { describeError } from "./errors.js";
import { backoff, DEFAULT_RETRY, sleep, type RetryPolicy, type SendOutcome } from "./retry.js";
import { destinationSetting, unusableSetting } from "./settings.js";
import { resendUnits, type DeliveryItem, type DeliveryReport, type Sink } from "./types.js";

export interface WebhookSinkOptions {
  deadLetters: DeadLetterStore;
  destinationPolicy: DestinationPolicy;
  settings?: Readonly<Record<string, string | undefined>>;
  retry?: RetryPolicy;
  /** Tests: a client that trusts the local endpoint's certificate. */
  httpClient?: HttpClient;
  backoff?: BackoffStore;
  configuration?: string;
}

const TRIGGER_URL = "a Logic Apps trigger URL";
// One trigger: one lane.
const LANE = "webhook";
const TRIGGER_GONE = new Set([401, 403, 404, 410]);

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
  readonly #ledger: DeliveryLedger;

  constructor(action: LogicAppAction, options: WebhookSinkOptions) {
    this.actionKey = actionKey(action);
    const fromSetting = action.uri === undefined && action.uriSetting !== undefined;
    const url = action.uri?.reveal() ?? (action.uriSetting === undefined ? undefined : destinationSetting(action.uriSetting, "uriSetting", TRIGGER_URL, options.settings, options.destinationPolicy));
    if (url === undefined) throw new Error("this LogicApp action has no trigger uri");
    if (!isTrustedWebhook(url, options.destinationPolicy)) {
      if (fromSetting) throw unusableSetting(action.uriSetting!, "uriSetting", TRIGGER_URL);
      throw new Error("the trigger uri's host is not a Logic Apps endpoint nor in DEFENDER_EXPORT_TRUSTED_HOSTS; nothing is sent there");
    }
    this.#url = url;
    this.#options = options;
    this.#client = options.httpClient ?? createDefaultHttpClient();
    this.description = `webhook ${new URL(url).host}${action.logicAppResourceId ? ` (${action.logicAppResourceId.split("/").pop()})` : ""}`;
    this.#ledger = new DeliveryLedger(this, {
      deadLetters: options.deadLetters,
      backoff: options.backoff ?? new MemoryBackoffStore(),
      ...(options.configuration !== undefined ? { configuration: options.configuration } : {}),
    });
  }

  async write(input: MappingInput): Promise<void> {
    const item: DeliveryItem = { id: input.id, route: "webhook", payload: toEvent(input).body };
    if (!(await this.#ledger.mayTry(LANE))) return this.#ledger.hold(LANE, [item]);
    const outcome = await this.#post(item);
    if (outcome.ok) await this.#ledger.delivered(LANE, 1);
    else if (outcome.final) await this.#ledger.refused([item], outcome.reason, 1);
    else await this.#ledger.exhausted(LANE, [item], outcome.reason, (this.#options.retry ?? DEFAULT_RETRY).attempts);
  }

  /** POSTs one event; retries 429 and 5xx (honouring Retry-After) and network failures; another 4xx refuses the event. */
  async #post(item: DeliveryItem): Promise<SendOutcome> {
    const policy = this.#options.retry ?? DEFAULT_RETRY;
    let reason = "not sent";
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      await backoff(policy, attempt);
      this.#ledger.report.requests++;
      try {
        const response = await this.#client.sendRequest(
          createPipelineRequest({ url: this.#url, method: "POST", body: JSON.stringify(item.payload), headers: createHttpHeaders({ "content-type": "application/json" }), timeout: 30_000 }),
        );
        if (response.status >= 200 && response.status < 300) return { ok: true };
        reason = `HTTP ${response.status}`;
        // The trigger is gone or no longer ours (deleted workflow, rotated signature): no event will go, so the
        // lane backs off at once rather than spending a request and a letter on each.
        if (TRIGGER_GONE.has(response.status)) return { ok: false, reason, final: false };
        if (response.status !== 429 && response.status < 500) return { ok: false, reason, final: true };
        const retryAfter = Number(response.headers.get("retry-after"));
        if (Number.isFinite(retryAfter) && retryAfter > 0 && attempt < policy.attempts) await sleep(Math.min(retryAfter, 60) * 1000);
      } catch (e) {
        // The error may quote the URL: describeError redacts its signature.
        reason = describeError(e);
      }
    }
    return { ok: false, reason, final: false };
  }

  flush(): Promise<DeliveryReport> {
    return this.#ledger.take();
  }

  resend(items: readonly DeliveryItem[]): Promise<{ failed: DeliveryItem[]; reason?: string }> {
    return resendUnits(items, (item) => [item], (item) => this.#post(item));
  }

  async close(): Promise<void> {}
}
