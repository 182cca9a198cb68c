import { SecurityCenter } from "@azure/arm-security";
import type { TokenCredential } from "@azure/core-auth";
import { createPipelineRequest, type Pipeline, type PipelineRetryOptions } from "@azure/core-rest-pipeline";
import { redactSecretsInText } from "../config/secret.js";
import { parseJson } from "../shared/json.js";
import { isObject } from "../shared/object.js";

export const DEFAULT_ARM_ENDPOINT = "https://management.azure.com";

export interface ArmConnectionOptions {
  credential: TokenCredential;
  /** ARM_ENDPOINT: the public cloud by default; a sovereign cloud's, or a local endpoint in tests. */
  endpoint?: string;
  retryOptions?: PipelineRetryOptions;
  /** A CA certificate to trust for this client only (tests); NODE_EXTRA_CA_CERTS works for the process. */
  tlsCa?: string;
}

/** What was being read when a page failed: the error names it. */
export interface PageContext {
  scope: string;
  dataType: string;
  page: number;
}

export class ArmReadError extends Error {
  constructor(
    readonly context: PageContext,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(`reading ${context.dataType} at ${context.scope}, page ${context.page}: ${message}`);
  }
}

export interface ArmPage {
  value: Record<string, unknown>[];
  nextLink?: string;
  /** The page's own URL, absolute, or the path it was asked for with; a resumed read starts from it. */
  url: string;
}

/** Counts of one run, shared by every client the run makes. */
export class ArmTraffic {
  /** HTTP requests sent to ARM, retries included. */
  requests = 0;
  /** Pages received. */
  pages = 0;
}

/** Counts every request a client sends, each retry included (the policy runs after the retry policy). */
export function countRequests(pipeline: Pipeline, counter: ArmTraffic): void {
  pipeline.addPolicy(
    {
      name: "defenderExportRequestCounter",
      sendRequest: (request, next) => {
        counter.requests++;
        return next(request);
      },
    },
    { afterPhase: "Retry" },
  );
}

/**
 * The token scope for an ARM endpoint. The SDK asks for the public cloud's scope unless told otherwise,
 * which fails in sovereign clouds; local endpoints keep the public scope (a fake accepts any token).
 */
export function armTokenScope(endpoint: string): string {
  const url = new URL(endpoint);
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || url.hostname.startsWith("127.");
  return loopback ? `${DEFAULT_ARM_ENDPOINT}/.default` : `${url.origin}/.default`;
}

/**
 * Pages of one subscription's Microsoft.Security lists, fetched through the `@azure/arm-security` client's
 * own pipeline (bearer token, managed identity, retries, Retry-After) but kept in the REST wire shape:
 * the SDK's models flatten `properties`, turn dates into Date objects and drop fields they do not know.
 */
export class ArmPager {
  readonly client: SecurityCenter;
  readonly endpoint: string;

  constructor(
    readonly subscriptionId: string,
    options: ArmConnectionOptions,
    readonly counter: ArmTraffic,
  ) {
    this.endpoint = new URL(options.endpoint ?? DEFAULT_ARM_ENDPOINT).origin;
    this.client = new SecurityCenter(options.credential, subscriptionId, {
      endpoint: this.endpoint,
      credentialScopes: [armTokenScope(this.endpoint)],
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
      ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
    });
    countRequests(this.client.pipeline, counter);
    // Pages are parsed when taken (pages below), not as they arrive: a page read ahead would be parsed while the one
    // before it is exported, and its thousands of objects would outlive that export's scavenges and be promoted.
    this.client.pipeline.removePolicy({ name: "deserializationPolicy" });
  }

  /**
   * Every page of a list, following nextLink. `path` is relative to the endpoint, or an absolute page URL
   * on it. The next page is asked for while the caller works through the current one (one page ahead, so
   * at most two are held), so that reading and processing overlap.
   */
  async *pages(path: string, context: Omit<PageContext, "page">): AsyncGenerator<ArmPage> {
    const first = path.startsWith("https://") || path.startsWith("http://") ? path : `${this.endpoint}${path}`;
    if (!this.#sameOrigin(first)) throw new ArmReadError({ ...context, page: 1 }, "the page URL is outside the ARM endpoint");
    let page = 1;
    let url = first;
    let pending = this.#page(url, { ...context, page });
    for (;;) {
      const result = this.#parse(await pending, { ...context, page });
      const next = result.nextLink;
      if (next !== undefined) {
        pending = this.#page(next, { ...context, page: page + 1 });
        // Awaited on the next turn; this only keeps a failure from going unhandled if the caller stops first.
        pending.catch(() => undefined);
      }
      yield { ...result, url: page === 1 && !path.startsWith("http") ? path : url };
      if (next === undefined) return;
      page++;
      url = next;
    }
  }

  /** A page's answer, as text: parsed when taken. */
  async #page(url: string, context: PageContext): Promise<{ text: string; status: number }> {
    let response;
    try {
      response = await this.client.sendRequest(createPipelineRequest({ url, method: "GET" }));
    } catch (e) {
      const err = e as { code?: string; statusCode?: number; message?: string };
      throw new ArmReadError(context, `${err.code ?? "request failed"}: ${redactSecretsInText(err.message ?? String(e))}`, err.statusCode, err.code);
    }
    this.counter.pages++;
    const text = response.bodyAsText ?? "";
    if (response.status < 200 || response.status >= 300) {
      const body = parseJson(text);
      const error = body.ok ? (body.value as { error?: { code?: string; message?: string } } | null)?.error : undefined;
      const detail = error?.code ? `${error.code}: ${error.message ?? ""}` : text.slice(0, 200);
      throw new ArmReadError(context, `HTTP ${response.status} ${redactSecretsInText(detail)}`.trim(), response.status, error?.code);
    }
    return { text, status: response.status };
  }

  #parse({ text, status }: { text: string; status: number }, context: PageContext): Omit<ArmPage, "url"> {
    let body: { value?: unknown; nextLink?: unknown } | null;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ArmReadError(context, "malformed page: the body is not valid JSON", status, "PARSE_ERROR");
    }
    if (body === null || typeof body !== "object" || !Array.isArray(body.value)) {
      throw new ArmReadError(context, "malformed page: no value array", status);
    }
    const items = body.value.filter(isObject);
    if (items.length !== body.value.length) throw new ArmReadError(context, "malformed page: value holds non-objects", status);
    const nextLink = typeof body.nextLink === "string" && body.nextLink !== "" ? body.nextLink : undefined;
    if (nextLink !== undefined && !this.#sameOrigin(nextLink)) {
      // The bearer token would follow the link: never to another host.
      throw new ArmReadError(context, "malformed page: nextLink points outside the ARM endpoint", status);
    }
    return nextLink === undefined ? { value: items } : { value: items, nextLink };
  }

  #sameOrigin(link: string): boolean {
    return URL.canParse(link) && new URL(link).origin === this.endpoint;
  }
}
