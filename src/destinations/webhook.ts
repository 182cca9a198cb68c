import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest, type HttpClient } from "@azure/core-rest-pipeline";
import { actionKey } from "../config/action-key.js";
import type { LogicAppAction } from "../config/model.js";
import { isTrustedWebhook } from "../config/actions.js";
import { toEvent } from "../mapping/eventhub.js";
import type { OutgoingRecord } from "../records/record.js";
import { DeliveryLedger } from "./delivery.js";
import { DEFAULT_RETRY, SENT, withRetries, type Attempt, type SendOutcome } from "./retry.js";
import { resolveSetting } from "./settings.js";
import { resendUnits, type DeliveryItem, type DeliveryReport, type Resent, type Sink, type SinkDependencies } from "./sink.js";

export type WebhookSinkOptions = Pick<SinkDependencies, "deadLetters" | "allowedDestinations" | "destinationAppSettings" | "retry" | "httpClient" | "backoff" | "configuration">;

// One trigger: one lane.
const LANE = "webhook";
const TRIGGER_GONE = new Set([401, 403, 404, 410]);
const REQUEST_TIMEOUT_MS = 30_000;
/** The longest Retry-After honoured. */
const LONGEST_RETRY_AFTER_SECONDS = 60;

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
    const trusted = (url: string) => (isTrustedWebhook(url, options.allowedDestinations) ? url : undefined);
    const url = action.uri === undefined ? resolveSetting(action, options.destinationAppSettings, options.allowedDestinations, trusted) : trusted(action.uri.reveal());
    if (url === undefined) {
      throw new Error(
        action.uri === undefined ? "this LogicApp action has no trigger uri" : "the trigger uri's host is not a Logic Apps endpoint nor in DEFENDER_EXPORT_TRUSTED_HOSTS; nothing is sent there",
      );
    }
    this.#url = url;
    this.#options = options;
    this.#client = options.httpClient ?? createDefaultHttpClient();
    this.description = `webhook ${new URL(url).host}${action.logicAppResourceId ? ` (${action.logicAppResourceId.split("/").pop()})` : ""}`;
    this.#ledger = new DeliveryLedger(this, options);
  }

  async write(input: OutgoingRecord): Promise<void> {
    const item: DeliveryItem = { id: input.id, route: LANE, payload: toEvent(input).body };
    if (!(await this.#ledger.mayTry(LANE))) return this.#ledger.hold(LANE, [item]);
    await this.#ledger.settle(LANE, [item], await this.#post(item));
  }

  /** POSTs one event; retries 429 and 5xx (honouring Retry-After) and network failures; another 4xx refuses the event. */
  #post(item: DeliveryItem): Promise<SendOutcome> {
    // A thrown error may quote the URL: withRetries describes it with describeError, which redacts the signature.
    return withRetries(this.#options.retry ?? DEFAULT_RETRY, () => this.#attempt(item), { onAttempt: () => this.#ledger.countRequest() });
  }

  async #attempt(item: DeliveryItem): Promise<Attempt> {
    const response = await this.#client.sendRequest(
      createPipelineRequest({ url: this.#url, method: "POST", body: JSON.stringify(item.payload), headers: createHttpHeaders({ "content-type": "application/json" }), timeout: REQUEST_TIMEOUT_MS }),
    );
    if (response.status >= 200 && response.status < 300) return SENT;
    const reason = `HTTP ${response.status}`;
    // The trigger is gone or no longer ours (deleted workflow, rotated signature): no event will go, so the
    // lane backs off at once rather than spending a request and a letter on each.
    if (TRIGGER_GONE.has(response.status)) return { ok: false, reason, retry: false, final: false };
    if (response.status !== 429 && response.status < 500) return { ok: false, reason, retry: false, final: true };
    const retryAfter = Number(response.headers.get("retry-after"));
    return Number.isFinite(retryAfter) && retryAfter > 0
      ? { ok: false, reason, retry: true, retryAfterMs: Math.min(retryAfter, LONGEST_RETRY_AFTER_SECONDS) * 1000 }
      : { ok: false, reason, retry: true };
  }

  flush(): Promise<DeliveryReport> {
    return this.#ledger.take();
  }

  resend(items: readonly DeliveryItem[]): Promise<Resent> {
    return resendUnits(items.map((item) => ({ items: [item], send: () => this.#post(item) })));
  }

  async close(): Promise<void> {}
}
