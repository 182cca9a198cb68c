import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { HttpHeaders } from "@azure/core-rest-pipeline";
import { redactSecretsInText } from "../config/secret.js";
import type { GraphRows } from "../datatypes/definition.js";
import { isObject } from "../shared/object.js";
import { statusOf } from "../shared/azure-errors.js";
import { ArmReadError, armTokenScope, countRequests, DEFAULT_ARM_ENDPOINT, type ArmConnectionOptions, type ArmTraffic, type PageContext } from "./arm.js";

/** Resource Graph's largest page. */
export const GRAPH_PAGE_ROWS = 1000;
/** The most subscriptions one query may name. */
export const GRAPH_MAX_SUBSCRIPTIONS = 1000;
/** The default quota window (15 queries per 5 seconds): what a 429 is waited out for when it does not say. */
export const DEFAULT_QUOTA_WINDOW_MS = 5000;

/** The columns every Resource Graph row has: a row is exported as Resource Graph holds it. */
const ROW_COLUMNS = [
  "id",
  "name",
  "type",
  "tenantId",
  "kind",
  "location",
  "resourceGroup",
  "subscriptionId",
  "managedBy",
  "sku",
  "plan",
  "properties",
  "tags",
  "identity",
  "zones",
  "extendedLocation",
];

/** A KQL string literal. */
export function kqlString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** One of a listing's hash partitions: the rows whose id hashes to `index` modulo `of`. */
export interface GraphPartition {
  index: number;
  of: number;
}

/**
 * The condition of a hash partition, as Microsoft documents splitting a result that is too large, or that moves,
 * for paging (azure-docs governance/resource-graph/concepts/paging-results.md). Kusto's `%` is never negative
 * (0 ≤ N % D < |D|, whatever the sign of `hash()`'s long), so every row is in exactly one partition.
 */
export function partitionCondition(partition: GraphPartition): string {
  return `hash(tolower(id)) % ${partition.of} == ${partition.index}`;
}

/**
 * The query for one type's rows, optionally in one resource group, optionally one hash partition of them. It
 * projects `id` and orders by it, as Resource Graph pages only such queries (otherwise it truncates and gives no skip token).
 */
export function rowsQuery(plan: GraphRows, resourceGroup?: string, partition?: GraphPartition): string {
  let where = "";
  const match = plan.inResourceGroup;
  if (resourceGroup !== undefined && !("wholeSubscription" in match)) {
    // `contains` ignores case, as ARM ids do; the slashes keep rg-a from matching rg-ab.
    where = "column" in match ? ` | where resourceGroup =~ ${kqlString(resourceGroup)}` : ` | where ${match.mentionedIn} contains ${kqlString(`/resourceGroups/${resourceGroup}/`)}`;
  }
  if (partition !== undefined && partition.of > 1) where += ` | where ${partitionCondition(partition)}`;
  return `securityresources | where type =~ ${kqlString(plan.type.toLowerCase())}${where} | project ${ROW_COLUMNS.join(", ")} | order by id asc`;
}

/** `hh:mm:ss` (Resource Graph's `x-ms-user-quota-resets-after`) in milliseconds; undefined when it is not that. */
export function parseResetsAfter(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(text.trim());
  if (m === null) return undefined;
  return Math.ceil((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A whole number header, or undefined (absent, empty or not a number). */
function count(text: string | undefined): number | undefined {
  return text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** Waiting for Resource Graph's quota would take longer than a read may wait. */
export class QuotaWaitTooLong extends Error {
  constructor(readonly waitMs: number) {
    super(`Resource Graph's quota resets in ${Math.ceil(waitMs / 1000)} s`);
  }
}

/**
 * The quota as the app's other instances spend it too (src/state/graph-quota-bucket.ts keeps it in storage):
 * the caller's quota is shared by every process of the identity, and each process sees only its own answers.
 */
export interface SharedGraphQuota {
  /** Takes one query: 0 when taken, else milliseconds until one may be. Throws when the store cannot be used. */
  take(): Promise<number>;
  /** What an answer said: queries left in the caller's window, and milliseconds until it resets. */
  observe(remaining: number, resetsAfterMs: number): Promise<void>;
}

export interface GraphQuotaOptions {
  /** How long an answer that says no query is left, or a 429, is waited out when it does not say itself. */
  windowMs?: number;
  /** The longest a query waits for the quota; beyond it the read fails and the next pass reads again. */
  maxWaitMs?: number;
  /** Up to this much is added at random to each wait, so that readers (and instances) do not all send at the reset. */
  jitterMs?: number;
  now?: () => number;
  random?: () => number;
  /** Taken from too, when given; while it cannot be used the process counts alone (a read never fails for it). */
  shared?: SharedGraphQuota;
  /** How long the process counts alone after the shared quota failed, before it is tried again. */
  sharedRetryMs?: number;
  /** The shared quota failed (once per outage): the process counts alone for sharedRetryMs. */
  onSharedUnavailable?: (error: Error) => void;
}

/**
 * Resource Graph's per-caller quota as its answers report it, shared by every query of a process for one
 * identity (the quota is the caller's): queries sent since the last answer count against what it said was
 * left, and when none is left the next query waits for the window to reset instead of being throttled.
 */
export class GraphQuota {
  // Unknown (no answer yet, or a new window) is unlimited: the first answer says.
  #remaining = Number.POSITIVE_INFINITY;
  #resetAt = 0;
  #inFlight = 0;
  readonly #windowMs: number;
  readonly #maxWaitMs: number;
  readonly #jitterMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #shared: SharedGraphQuota | undefined;
  readonly #sharedRetryMs: number;
  readonly #onSharedUnavailable: ((error: Error) => void) | undefined;
  #sharedDownUntil = 0;
  /** Milliseconds spent waiting for the quota, for the read statistics. */
  waitedMs = 0;
  /** Times the shared quota could not be used (each followed by sharedRetryMs of counting alone). */
  sharedFailures = 0;

  constructor(options: GraphQuotaOptions = {}) {
    this.#windowMs = options.windowMs ?? DEFAULT_QUOTA_WINDOW_MS;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    this.#jitterMs = options.jitterMs ?? 250;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#shared = options.shared;
    this.#sharedRetryMs = options.sharedRetryMs ?? 30_000;
    this.#onSharedUnavailable = options.onSharedUnavailable;
  }

  /**
   * Takes a query from the quota (this process's count, then the shared one), waiting for the window to reset
   * when none is left; throws QuotaWaitTooLong.
   */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.#now();
      if (this.#resetAt !== 0 && now >= this.#resetAt) {
        this.#remaining = Number.POSITIVE_INFINITY;
        this.#resetAt = 0;
      }
      let untilShared = 0;
      if (this.#remaining - this.#inFlight > 0) {
        // Held while the shared quota is asked, so that the queries of this process never pass its own count.
        this.#inFlight++;
        untilShared = await this.#takeShared();
        if (untilShared === 0) return;
        this.#inFlight--;
      }
      const wait = (untilShared > 0 ? untilShared : Math.max(0, this.#resetAt - now)) + Math.floor(this.#random() * this.#jitterMs);
      if (wait > this.#maxWaitMs) throw new QuotaWaitTooLong(wait);
      this.waitedMs += wait;
      await sleep(wait);
    }
  }

  /** 0 when the shared quota gave a query or cannot be used, else how long until it may. */
  async #takeShared(): Promise<number> {
    if (this.#shared === undefined || this.#now() < this.#sharedDownUntil) return 0;
    try {
      return await this.#shared.take();
    } catch (e) {
      this.#sharedFailed(e);
      return 0;
    }
  }

  #sharedFailed(e: unknown): void {
    if (this.#now() < this.#sharedDownUntil) return;
    this.sharedFailures++;
    this.#sharedDownUntil = this.#now() + this.#sharedRetryMs;
    this.#onSharedUnavailable?.(e instanceof Error ? e : new Error(String(e)));
  }

  /** Other instances learn what this one was told (an answer arrives after the query it counts). */
  #tellShared(remaining: number, resetsAfterMs: number): void {
    if (this.#shared === undefined || this.#now() < this.#sharedDownUntil) return;
    this.#shared.observe(remaining, resetsAfterMs).catch((e: unknown) => this.#sharedFailed(e));
  }

  /** An answer (or a failure without one): the query is no longer in flight; returns how long the window has left. */
  settle(headers: HttpHeaders | undefined): number | undefined {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (headers === undefined) return undefined;
    const resetsAfter = parseResetsAfter(headers.get("x-ms-user-quota-resets-after") ?? undefined);
    const remaining = count(headers.get("x-ms-user-quota-remaining") ?? undefined);
    if (remaining !== undefined) {
      this.#remaining = remaining;
      this.#resetAt = this.#now() + (resetsAfter ?? this.#windowMs);
      this.#tellShared(remaining, resetsAfter ?? this.#windowMs);
    }
    return resetsAfter;
  }

  /** After a 429: nothing is sent before the window resets, here or (through the shared quota) elsewhere. */
  throttled(resetsAfterMs: number | undefined): void {
    this.#remaining = 0;
    this.#resetAt = Math.max(this.#resetAt, this.#now() + (resetsAfterMs ?? this.#windowMs));
    this.#tellShared(0, this.#resetAt - this.#now());
  }
}

/** A listing's rows above which it is read as hash partitions: 20 full pages. */
export const DEFAULT_PARTITION_ROWS = 20 * GRAPH_PAGE_ROWS;

export interface GraphPagerOptions extends ArmConnectionOptions {
  /** 429s without Retry-After waited out for one page before the read fails. */
  maxThrottledRetries?: number;
  /** Rows a page asks for (Resource Graph's largest by default). */
  pageRows?: number;
  /** The quota of the caller (one per identity and process, shared by its readers); a reader's own otherwise. */
  graphQuota?: GraphQuota;
  /**
   * A listing whose first page says it holds more rows than this is read as ceil(rows / this) hash partitions
   * instead, each a listing of its own (20,000 by default: 20 full pages).
   */
  partitionRows?: number;
}

/** What a listing does beyond giving its pages. */
export interface PageWatch {
  /**
   * The listing moved while it was read (its totalRecords changed between pages, a page repeated rows of the one
   * before, or it ended with more or fewer rows than it said): told, with what was seen, and the read goes on, the
   * repeated rows left out. Without it such a listing fails.
   */
  moved?: (detail: string) => void;
  /** Before the first page's rows are given, when more follow: true ends the listing there, without them (the caller splits it). */
  tooLarge?: (totalRecords: number) => boolean;
}

/** A page of a listing and the hash partition it is of (0 of 1: the listing read whole). */
export interface PartitionPage {
  rows: Record<string, unknown>[];
  partition: GraphPartition;
}

/** A query and what it runs over: subscriptions (up to 1,000), or management groups. */
export type GraphRequest = { query: string; subscriptions: string[] } | { query: string; managementGroups: string[] };

/**
 * Pages of Resource Graph queries, through `@azure/arm-resourcegraph`'s own pipeline (credential, endpoint,
 * retries of 5xx and of 429s that carry Retry-After). Rows are passed through as Resource Graph returns them.
 */
export class GraphPager {
  readonly client: ResourceGraphClient;
  readonly #quota: GraphQuota;
  readonly #maxThrottledRetries: number;
  readonly #pageRows: number;
  readonly #partitionRows: number;

  constructor(
    options: GraphPagerOptions,
    readonly counter: ArmTraffic,
    quota = options.graphQuota ?? new GraphQuota(),
  ) {
    const endpoint = new URL(options.endpoint ?? DEFAULT_ARM_ENDPOINT).origin;
    this.client = new ResourceGraphClient(options.credential, {
      endpoint,
      credentials: { scopes: [armTokenScope(endpoint)] },
      ...(options.retryOptions ? { retryOptions: options.retryOptions } : {}),
      ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
    });
    countRequests(this.client.pipeline, counter);
    this.#quota = quota;
    this.#maxThrottledRetries = options.maxThrottledRetries ?? 10;
    this.#pageRows = Math.min(GRAPH_PAGE_ROWS, Math.max(1, options.pageRows ?? GRAPH_PAGE_ROWS));
    this.#partitionRows = Math.max(1, options.partitionRows ?? DEFAULT_PARTITION_ROWS);
  }

  get quotaWaitedMs(): number {
    return this.#quota.waitedMs;
  }

  /**
   * A listing that may be too large to read in one go: its pages, and the hash partition each is of. Read whole
   * unless its first page says it holds more than `partitionRows` rows (and is not all of them): then that page is
   * dropped (nothing of it is given) and the listing is read as ceil(rows / partitionRows) partitions, one after the
   * other, each ordered by id and paged by skip token: one query more than reading it whole, and a pass stopped in
   * it goes on at its partition instead of its start. `from` goes on from a partition (of a count decided before), read from its first
   * page; one of one reads the listing whole again, deciding anew. `query` makes the request for a partition (or
   * for the whole listing).
   */
  async *listing(
    query: (partition?: GraphPartition) => GraphRequest,
    context: Omit<PageContext, "page">,
    options: { from?: GraphPartition; moved?: (detail: string) => void } = {},
  ): AsyncGenerator<PartitionPage> {
    let split = options.from !== undefined && options.from.of > 1 ? options.from : undefined;
    if (split === undefined) {
      const whole = { index: 0, of: 1 };
      let total: number | undefined;
      const tooLarge = (rows: number) => {
        if (rows <= this.#partitionRows) return false;
        total = rows;
        return true;
      };
      for await (const rows of this.pages(query(), context, { ...(options.moved ? { moved: options.moved } : {}), tooLarge })) yield { rows, partition: whole };
      if (total === undefined) return;
      split = { index: 0, of: Math.ceil(total / this.#partitionRows) };
    }
    for (let index = split.index; index < split.of; index++) {
      const partition = { index, of: split.of };
      const named = `partition ${index + 1} of ${split.of}`;
      const at = { ...context, dataType: `${context.dataType} (${named})` };
      const moved = options.moved;
      const watch: PageWatch = moved === undefined ? {} : { moved: (detail) => moved(`${named}, ${detail}`) };
      for await (const rows of this.pages(query(partition), at, watch)) yield { rows, partition };
    }
  }

  /**
   * Every page of a query's rows, following skip tokens; the next page is asked for while the caller works
   * through the current one. A skip token is an offset into the result: rows that appear or go between pages
   * shift it (a row missed, which a streaming pass would export as removed, or one read twice). With
   * `watch.moved`, a listing whose totalRecords changes, or that ends with more or fewer rows than it said, goes
   * on and says so (the rows of a page that repeat the page before are left out: an insertion shifts the offset
   * back); without it, it fails and the next pass reads again. A token seen before, or an empty page with a token,
   * is refused rather than followed.
   */
  async *pages(request: GraphRequest, context: Omit<PageContext, "page">, watch: PageWatch = {}): AsyncGenerator<Record<string, unknown>[]> {
    const seen = new Set<string>();
    // Pages over Resource Graph's 16 MB cap are refused: the rest of the listing asks for fewer rows.
    const size = { rows: this.#pageRows };
    const moved = watch.moved;
    // What the last page said the listing holds, and the ids of its rows (only the last page's: bounded memory).
    let total: number | undefined;
    let before: Set<string> | undefined;
    let miscounted = false;
    let read = 0;
    let page = 1;
    let pending = this.#page(request, undefined, size, { ...context, page });
    for (;;) {
      const result = await pending;
      const at = { ...context, page };
      // A first page that holds the whole listing is read as it is, whatever its size.
      if (page === 1 && result.skipToken !== undefined && result.totalRecords !== undefined && watch.tooLarge?.(result.totalRecords) === true) return;
      total ??= result.totalRecords;
      let rows = result.rows;
      if (result.totalRecords !== undefined && result.totalRecords !== total) {
        if (moved === undefined) {
          throw new ArmReadError(at, `the result changed while it was read (${total} rows when the listing began, ${result.totalRecords} now); the next pass reads it again`);
        }
        moved(`page ${page}: the listing held ${total} rows at page ${page - 1}, ${result.totalRecords} at page ${page}`);
        total = result.totalRecords;
      }
      if (moved !== undefined) {
        const ids = rows.map(rowId);
        if (before !== undefined) {
          const previous = before;
          const kept = rows.filter((_, i) => !previous.has(ids[i]!));
          if (kept.length < rows.length) moved(`page ${page}: ${rows.length - kept.length} of its rows came on page ${page - 1} too`);
          rows = kept;
        }
        before = new Set(ids.filter((id) => id !== ""));
      }
      read += rows.length;
      const token = result.skipToken;
      if (total !== undefined && !miscounted && (read > total || (token === undefined && read < total))) {
        const detail = `the listing said ${total} rows and gave ${read}${token === undefined ? "" : " so far"}`;
        if (moved === undefined) throw new ArmReadError(at, `${detail}; the next pass reads it again`);
        moved(`page ${page}: ${detail}`);
        miscounted = true;
      }
      if (token !== undefined) {
        if (result.rows.length === 0) throw new ArmReadError(at, "an empty page with a skip token: stopping rather than following it");
        if (seen.has(token)) throw new ArmReadError(at, "Resource Graph returned a skip token it had returned before; stopping rather than reading the same rows again");
        seen.add(token);
        pending = this.#page(request, token, size, { ...context, page: page + 1 });
        // Awaited on the next turn; this only keeps a failure from going unhandled if the caller stops first.
        pending.catch(() => undefined);
      }
      yield rows;
      if (token === undefined) return;
      page++;
    }
  }

  async #page(
    request: GraphRequest,
    skipToken: string | undefined,
    size: { rows: number },
    context: PageContext,
  ): Promise<{ rows: Record<string, unknown>[]; skipToken?: string; totalRecords?: number }> {
    for (let throttled = 0; ;) {
      try {
        await this.#quota.acquire();
      } catch (e) {
        if (e instanceof QuotaWaitTooLong) throw new ArmReadError(context, `${e.message}, later than a read waits; the next pass reads again`, 429, "RateLimiting");
        throw e;
      }
      let resetsAfter: number | undefined;
      let settled = false;
      let capped = false;
      const settle = (headers: HttpHeaders | undefined) => {
        if (settled) return;
        settled = true;
        resetsAfter = this.#quota.settle(headers);
        capped = headers?.get("x-ms-tenant-subscription-limit-hit")?.trim().toLowerCase() === "true";
      };
      let response;
      try {
        response = await this.client.resources(
          {
            ...request,
            // $top overrides the page size a skip token carries, so a smaller page can follow the same token.
            options: { top: size.rows, resultFormat: "objectArray", ...(skipToken === undefined ? {} : { skipToken }) },
          },
          { onResponse: (raw) => settle(raw.headers) },
        );
      } catch (e) {
        settle(undefined);
        const status = statusOf(e);
        const error = graphError(e);
        // A 429 with Retry-After was retried by the SDK; one without (Resource Graph's own quota) is waited out here.
        if (status === 429 && throttled < this.#maxThrottledRetries) {
          throttled++;
          this.#quota.throttled(resetsAfter);
          continue;
        }
        if (status === 400 && size.rows > 1 && error?.codes.includes("ResponsePayloadTooLarge")) {
          size.rows = Math.max(1, Math.floor(size.rows / 2));
          continue;
        }
        const tooLarge = error?.codes.includes("ResponsePayloadTooLarge") ? " (one row is over Resource Graph's 16 MB response limit)" : "";
        const text = error === undefined ? (e instanceof Error ? e.message : String(e)) : error.text;
        const prefix = status === undefined ? "request failed" : `HTTP ${status}`;
        const suffix = status === 429 ? ` (throttled ${throttled + 1} times in a row)` : tooLarge;
        throw new ArmReadError(context, `${prefix} ${redactSecretsInText(text)}${suffix}`.trim(), status, error?.codes[0]);
      }
      settle(undefined);
      this.counter.pages++;
      // guidance-for-throttled-requests.md: over 10,000 subscriptions under one scope, Resource Graph answers for the
      // first ones only and says so; the rest would look gone (their records removed, their state forgotten).
      if (capped) {
        throw new ArmReadError(
          context,
          "Resource Graph answered for only part of the scope's subscriptions (x-ms-tenant-subscription-limit-hit: more than it covers under one scope, 10,000 by its documentation); export the group as several smaller management groups",
          200,
        );
      }
      const data: unknown = response.data;
      if (!Array.isArray(data)) throw new ArmReadError(context, "malformed page: data is not an array of rows (objectArray)", 200);
      const rows = data.filter(isObject);
      if (rows.length !== data.length) throw new ArmReadError(context, "malformed page: data holds non-objects", 200);
      const next = typeof response.skipToken === "string" && response.skipToken !== "" ? response.skipToken : undefined;
      // A truncated answer without a token has lost rows: a read that cannot see them all fails.
      if (next === undefined && String(response.resultTruncated).toLowerCase() === "true") {
        throw new ArmReadError(context, "Resource Graph truncated the result and gave no skip token to read the rest", 200);
      }
      const totalRecords = typeof response.totalRecords === "number" && Number.isSafeInteger(response.totalRecords) ? response.totalRecords : undefined;
      return { rows, ...(next === undefined ? {} : { skipToken: next }), ...(totalRecords === undefined ? {} : { totalRecords }) };
    }
  }
}

/** A row's id as rows are told apart (ARM ids ignore case); "" when it has none. */
function rowId(row: Record<string, unknown>): string {
  const id = row["id"];
  return typeof id === "string" ? id.toLowerCase() : "";
}

/**
 * Resource Graph's error body as the SDK parsed it into the error's `details`: its code and the codes of its
 * details (`BadRequest` says little; `InvalidQuery`, `ResponsePayloadTooLarge` say what went wrong), and a text of them all.
 */
function graphError(e: unknown): { codes: string[]; text: string } | undefined {
  const details = (e as { details?: unknown }).details;
  const error = isObject(details) && isObject(details["error"]) ? details["error"] : undefined;
  if (error === undefined) return undefined;
  const inner = (Array.isArray(error["details"]) ? error["details"] : []).filter(isObject);
  const all = [error, ...inner].filter((d) => typeof d["code"] === "string");
  const line = (d: Record<string, unknown>) => `${String(d["code"])}: ${String(d["message"] ?? "")}`.trim();
  return { codes: all.map((d) => String(d["code"])), text: [line(error), ...inner.map(line)].join("; ") };
}
