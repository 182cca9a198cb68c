// The fake Resource Graph query API: POST /providers/Microsoft.ResourceGraph/resources (api-version 2024-04-01,
// as @azure/arm-resourcegraph 5.0.0 sends, and the older stable versions). Request and answer follow the spec
// (azure-rest-api-specs resourcegraph stable/2024-04-01 resourcegraph.json and its examples); paging, the
// per-user quota and the size cap follow azure-docs articles/governance/resource-graph (paging-results.md,
// work-with-data.md, guidance-for-throttled-requests.md, troubleshoot/general.md).
import { createHash, randomUUID } from "node:crypto";
import type { Collection, SyntheticDataset } from "./dataset.js";
import { GRAPH_TABLES } from "./graph-tables.js";
import { hashPartition, idHash, inHashPartition, KqlError, leadingTypeFilter, parseKql, planKql, type LazyResult, type Query, type QueryErrorDetail } from "./kql.js";

type Row = Record<string, unknown>;

export const RESOURCE_GRAPH_PATH = /^\/providers\/Microsoft\.ResourceGraph\/resources$/i;
export const RESOURCE_GRAPH_API_VERSIONS = ["2019-04-01", "2021-03-01", "2022-10-01", "2024-04-01"];

export interface ResourceGraphOptions {
  /** The subscriptions of the tenant; default the ARM fake's dataset alone. */
  datasets?: SyntheticDataset[];
  /** Rows a page holds when the request gives no $top (the service's is 1,000). */
  defaultTop?: number;
  /** Queries a caller may send per window (the service's default: 15 per 5 s). */
  quota?: { queries: number; windowMs: number };
  /** Seconds of Retry-After on a RateLimiting 429; absent by default (see below). */
  rateLimitRetryAfter?: number;
  /** Management group id → the subscription ids under it; default: every group holds every subscription. */
  managementGroups?: Record<string, string[]>;
  /** The cap on one answer's size (the service's: 16 MB). */
  maxResponseBytes?: number;
  /**
   * Tables whose rows the caller may not see: Resource Graph leaves out what the caller's roles do not read (an
   * identity with Security Reader alone lacks Microsoft.Resources/subscriptions/read: `resourcecontainers`).
   */
  hiddenTables?: string[];
  /**
   * The most subscriptions a management group query covers (the service's documentation: 10,000); beyond it the
   * fake, as the service, answers for the first ones and sets `x-ms-tenant-subscription-limit-hit: true`.
   */
  subscriptionLimit?: number;
}

export interface GraphAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface GraphRequest {
  apiVersion: string | null;
  contentType: string | undefined;
  /** Who is asking: the quota is counted per caller. */
  caller: string;
  body: string;
}

// The generic columns of a Resource Graph row, in the service's order, with their column types.
const COLUMNS: [string, string][] = [
  ["id", "string"],
  ["name", "string"],
  ["type", "string"],
  ["tenantId", "string"],
  ["kind", "string"],
  ["location", "string"],
  ["resourceGroup", "string"],
  ["subscriptionId", "string"],
  ["managedBy", "string"],
  ["sku", "object"],
  ["plan", "object"],
  ["properties", "object"],
  ["tags", "object"],
  ["identity", "object"],
  ["zones", "object"],
  ["extendedLocation", "object"],
];
const TABLE_COLUMNS = Object.fromEntries(Object.keys(GRAPH_TABLES).map((t) => [t, COLUMNS.map(([name]) => name)]));
const COLUMN_TYPES = new Map(COLUMNS);
const MAX_TOP = 1000;
const MAX_SUBSCRIPTIONS = 1000;
const SIXTEEN_MB = 16 * 1024 * 1024;
const MAX_CACHED_RESULTS = 64;

interface ParsedRequest {
  query: string;
  subscriptions?: string[];
  managementGroups?: string[];
  top?: number;
  skip?: number;
  skipToken?: string;
  resultFormat: "objectArray" | "table";
}

class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Resource Graph's error envelope: the support line as message, the reason in details. */
function graphError(code: string, details: QueryErrorDetail[] | { code: string; message: string }[]): unknown {
  return { error: { code, message: `Please provide below info when asking for support: timestamp = ${new Date().toISOString()}, correlationId = ${randomUUID()}.`, details } };
}

function formatHms(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

function stringArray(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) throw new BadRequest("InvalidRequestContent", `'${field}' must be an array of strings.`);
  return value as string[];
}

function integer(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) throw new BadRequest("InvalidRequestContent", `'${field}' must be an integer from ${min} to ${max}.`);
  return value;
}

function parseRequest(text: string): ParsedRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest("InvalidRequestContent", "The request content is not valid JSON.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new BadRequest("InvalidRequestContent", "The request content must be a JSON object.");
  const b = body as Row;
  if (typeof b["query"] !== "string" || b["query"].trim() === "") throw new BadRequest("InvalidRequestContent", "'query' is required.");
  const subscriptions = stringArray(b["subscriptions"], "subscriptions");
  const managementGroups = stringArray(b["managementGroups"], "managementGroups");
  // troubleshoot/general.md: the REST API accepts at most 1,000 subscriptions; the error's own body is not shown anywhere.
  if (subscriptions !== undefined && subscriptions.length > MAX_SUBSCRIPTIONS) {
    throw new BadRequest("TooManySubscriptions", `At most ${MAX_SUBSCRIPTIONS} subscriptions can be queried in one request; ${subscriptions.length} were given. Batch the subscriptions.`);
  }
  if (subscriptions !== undefined && managementGroups !== undefined) throw new BadRequest("InvalidRequestContent", "'subscriptions' and 'managementGroups' cannot be given together.");
  const o = b["options"] ?? {};
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new BadRequest("InvalidRequestContent", "'options' must be an object.");
  const options = o as Row;
  const resultFormat = options["resultFormat"] ?? "objectArray";
  if (resultFormat !== "objectArray" && resultFormat !== "table") throw new BadRequest("InvalidRequestContent", `'resultFormat' must be 'objectArray' or 'table'.`);
  const skipToken = options["$skipToken"];
  if (skipToken !== undefined && typeof skipToken !== "string") throw new BadRequest("InvalidRequestContent", "'$skipToken' must be a string.");
  const partial = options["allowPartialScopes"];
  if (partial !== undefined && typeof partial !== "boolean") throw new BadRequest("InvalidRequestContent", "'allowPartialScopes' must be a boolean.");
  const scopeFilter = options["authorizationScopeFilter"];
  if (scopeFilter !== undefined && !["AtScopeAndBelow", "AtScopeAndAbove", "AtScopeExact", "AtScopeAboveAndBelow"].includes(String(scopeFilter))) {
    throw new BadRequest("InvalidRequestContent", "'authorizationScopeFilter' is not a known value.");
  }
  const top = integer(options["$top"], "$top", 1, MAX_TOP);
  const skip = integer(options["$skip"], "$skip", 0, Number.MAX_SAFE_INTEGER);
  return {
    query: b["query"],
    resultFormat,
    ...(subscriptions ? { subscriptions } : {}),
    ...(managementGroups ? { managementGroups } : {}),
    ...(top !== undefined ? { top } : {}),
    ...(skip !== undefined ? { skip } : {}),
    ...(skipToken !== undefined ? { skipToken } : {}),
  };
}

/** A query's result kept while the data under it is unchanged; a listing's, with its rows' id hashes once a partition of it was asked for. */
interface CachedResult {
  version: string;
  result: LazyResult;
  idHashes?: Float64Array;
}

interface TokenState {
  /** The query and scopes the token belongs to. */
  h: string;
  o: number;
  t: number;
}

/** The fake's Resource Graph: its own quota state; the rows come from the datasets, made for each page. */
export class FakeResourceGraph {
  readonly #options: ResourceGraphOptions;
  readonly #datasets: SyntheticDataset[];
  readonly #windows = new Map<string, { start: number; used: number }>();
  readonly #results = new Map<string, CachedResult>();

  constructor(options: ResourceGraphOptions, fallback: SyntheticDataset) {
    this.#options = options;
    this.#datasets = options.datasets ?? [fallback];
  }

  answer(request: GraphRequest, now = Date.now()): GraphAnswer {
    if (request.apiVersion === null) {
      return { status: 400, headers: {}, body: { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } } };
    }
    if (!RESOURCE_GRAPH_API_VERSIONS.includes(request.apiVersion)) {
      return {
        status: 400,
        headers: {},
        body: { error: { code: "InvalidApiVersionParameter", message: `The api-version '${request.apiVersion}' is invalid. The supported versions are '${RESOURCE_GRAPH_API_VERSIONS.join(",")}'.` } },
      };
    }
    // troubleshoot/general.md ("Unsupported Content-Type REST header"): anything but application/json is a 500.
    if (!/^application\/json\b/i.test(request.contentType ?? "")) {
      return { status: 500, headers: {}, body: { error: { code: "InternalServerError", message: "Encountered internal server error." } } };
    }
    const quota = this.#quota(request.caller, now);
    if (!quota.allowed) {
      // The body as captured from the service (a public Go client's comment, 2023). That capture also had
      // Retry-After: 2; the docs name only the x-ms-user-quota-* headers, and the fake leaves Retry-After out
      // unless told, so that a reader is tested on honouring x-ms-user-quota-resets-after itself.
      const retry = this.#options.rateLimitRetryAfter;
      return {
        status: 429,
        headers: { ...quota.headers, ...(retry === undefined ? {} : { "retry-after": String(retry) }) },
        body: graphError("RateLimiting", [
          {
            code: "RateLimiting",
            message:
              "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.",
          },
        ]),
      };
    }
    try {
      const parsed = parseRequest(request.body);
      const limit = this.#options.subscriptionLimit;
      const capped = limit !== undefined && parsed.managementGroups !== undefined && this.#inScope(parsed).length > limit;
      return { status: 200, headers: { ...quota.headers, ...(capped ? { "x-ms-tenant-subscription-limit-hit": "true" } : {}) }, body: this.#query(parsed) };
    } catch (e) {
      if (e instanceof KqlError) {
        const invalid = { code: "InvalidQuery", message: "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying." };
        return { status: 400, headers: quota.headers, body: graphError("BadRequest", [invalid, e.detail]) };
      }
      if (e instanceof BadRequest) {
        return {
          status: e.status,
          headers: quota.headers,
          body: e.status === 403 ? { error: { code: e.code, message: e.message } } : graphError("BadRequest", [{ code: e.code, message: e.message }]),
        };
      }
      throw e;
    }
  }

  // guidance-for-throttled-requests.md: a quota per user per time window, told in every answer.
  #quota(caller: string, now: number): { allowed: boolean; headers: Record<string, string> } {
    const { queries, windowMs } = this.#options.quota ?? { queries: 15, windowMs: 5000 };
    let w = this.#windows.get(caller);
    if (w === undefined || now - w.start >= windowMs) {
      w = { start: now, used: 0 };
      this.#windows.set(caller, w);
    }
    const allowed = w.used < queries;
    if (allowed) w.used++;
    return { allowed, headers: { "x-ms-user-quota-remaining": String(queries - w.used), "x-ms-user-quota-resets-after": formatHms(w.start + windowMs - now) } };
  }

  #scope(request: ParsedRequest): SyntheticDataset[] {
    const all = this.#inScope(request);
    const limit = request.managementGroups !== undefined ? this.#options.subscriptionLimit : undefined;
    const scoped = limit === undefined ? all : all.slice(0, limit);
    // overview.md: subscriptions the caller cannot read are left out silently; none readable is a 403.
    if (scoped.length === 0) throw new BadRequest("AuthorizationFailed", "The client does not have authorization to perform the query on any of the requested scopes.", 403);
    return scoped;
  }

  #inScope(request: ParsedRequest): SyntheticDataset[] {
    const lower = (ids: string[]) => new Set(ids.map((s) => s.toLowerCase()));
    let wanted: Set<string> | undefined;
    if (request.subscriptions !== undefined) wanted = lower(request.subscriptions);
    else if (request.managementGroups !== undefined && this.#options.managementGroups !== undefined) {
      const groups = this.#options.managementGroups;
      wanted = lower(request.managementGroups.flatMap((g) => Object.entries(groups).find(([name]) => name.toLowerCase() === g.toLowerCase())?.[1] ?? []));
    }
    return wanted === undefined ? this.#datasets : this.#datasets.filter((d) => wanted.has(d.subscriptionId.toLowerCase()));
  }

  /**
   * The query's result over the scoped subscriptions, kept while their data is unchanged: positions, not rows,
   * so that a page costs its own rows and a result of millions holds no row.
   */
  #result(query: Query, scoped: SyntheticDataset[]): CachedResult {
    // The query as parsed (the same query however written) over the same subscriptions.
    const hash = createHash("sha256")
      .update(JSON.stringify([query.table, query.stages, scoped.map((d) => d.subscriptionId)]))
      .digest("base64url");
    // Which subscriptions, and their data's version: a group's members change too.
    const version = scoped.map((d) => `${d.subscriptionId}:${d.version}`).join(",");
    const cached = this.#results.get(hash);
    if (cached !== undefined && cached.version === version) {
      // Kept while it is used: a listing read page by page stays, whatever else is asked meanwhile.
      this.#results.delete(hash);
      this.#results.set(hash, cached);
      return cached;
    }
    const partition = hashPartition(query);
    if (partition !== undefined) {
      // A hash partition (paging-results.md) is worked out from the whole listing's result (the one its first page
      // came from), kept with the ids of its rows: one evaluation of the rows for all the partitions, not one each.
      const whole = this.#result(partition.base, scoped);
      const base = whole.result;
      const hashes = (whole.idHashes ??= Float64Array.from({ length: base.length }, (_, k) => idHash(base.at(k)["id"])));
      const kept: number[] = [];
      for (let k = 0; k < hashes.length; k++) if (inHashPartition(hashes[k]!, partition.of, partition.index)) kept.push(k);
      return this.#keep(hash, version, { length: kept.length, at: (j) => base.at(kept[j]!) });
    }
    const wantedType = leadingTypeFilter(query);
    const parts: Collection[] = [];
    const hidden = this.#options.hiddenTables?.includes(query.table) === true;
    for (const dataset of hidden ? [] : scoped) {
      for (const source of GRAPH_TABLES[query.table]!) if (wantedType === undefined || source.type === wantedType) parts.push(source.rows(dataset));
    }
    const starts: number[] = [];
    let count = 0;
    for (const c of parts) {
      starts.push(count);
      count += c.count;
    }
    const rowAt = (i: number): Row => {
      let lo = 0;
      let hi = parts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= i) lo = mid;
        else hi = mid - 1;
      }
      return parts[lo]!.at(i - starts[lo]!);
    };
    return this.#keep(hash, version, planKql(query, count, rowAt));
  }

  #keep(hash: string, version: string, result: LazyResult): CachedResult {
    const entry = { version, result };
    this.#results.delete(hash);
    this.#results.set(hash, entry);
    // The least recently used go first: a test suite's many small queries do not pile up.
    for (const old of this.#results.keys()) {
      if (this.#results.size <= MAX_CACHED_RESULTS) break;
      this.#results.delete(old);
    }
    return entry;
  }

  #query(request: ParsedRequest): Row {
    const scoped = this.#scope(request);
    const query = parseKql(request.query, TABLE_COLUMNS);
    // paging-results.md: no $skipToken (and resultTruncated "true") when the query uses limit/take/sample or when
    // no output column can key the pages; the spec's examples page on `project id, ...` without an order, so the
    // key is `id` in the output (work-with-data.md) and the fake's row order is already stable.
    const pageable = !query.limited && query.columns.includes("id");
    const hash = createHash("sha256")
      .update(JSON.stringify([request.query, [...(request.subscriptions ?? [])].map((s) => s.toLowerCase()).sort(), [...(request.managementGroups ?? [])].sort()]))
      .digest("base64url");
    const result = this.#result(query, scoped).result;
    let offset = 0;
    let top = this.#options.defaultTop ?? MAX_TOP;
    if (request.skipToken !== undefined) {
      const state = decodeToken(request.skipToken);
      if (state === undefined || state.h !== hash) {
        // The docs only say a token is reused with the same query and scopes; the service's error code for a mismatch is not documented.
        throw new BadRequest("InvalidSkipToken", "The $skipToken is not valid for this query and scope: reuse it only with the query and scopes it was returned for.");
      }
      offset = state.o;
      top = state.t;
    }
    // The spec: $top and $skip override the size and offset a $skipToken carries.
    if (request.top !== undefined) top = request.top;
    if (request.skip !== undefined) offset = request.skip;
    if (!pageable) top = Math.min(top, MAX_TOP);

    const cap = this.#options.maxResponseBytes ?? SIXTEEN_MB;
    const page: Row[] = [];
    let bytes = 200;
    let end = offset;
    while (end < result.length && page.length < top) {
      const row = result.at(end++);
      bytes += Buffer.byteLength(JSON.stringify(row)) + 1;
      page.push(row);
    }
    // Over the cap the service refuses the page (microsoft/ARI#199, dolevshor/azure-orphan-resources#46 quote it):
    // a smaller $top, with the same token, asks for less.
    if (bytes > cap) {
      throw new BadRequest(
        "ResponsePayloadTooLarge",
        `Response payload size is ${bytes}, and has exceeded the limit of ${cap}. Please consider querying the data in smaller pages or a smaller range of the data.`,
      );
    }
    const more = end < result.length;
    const body: Row = {
      totalRecords: result.length,
      count: page.length,
      data: request.resultFormat === "table" ? toTable(query.columns, page) : page,
      facets: [],
      resultTruncated: more && !pageable ? "true" : "false",
    };
    if (more && pageable) body["$skipToken"] = Buffer.from(JSON.stringify({ h: hash, o: end, t: top } satisfies TokenState)).toString("base64");
    return body;
  }
}

function decodeToken(token: string): TokenState | undefined {
  try {
    const state = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as Partial<TokenState>;
    return typeof state.h === "string" && Number.isInteger(state.o) && Number.isInteger(state.t) ? (state as TokenState) : undefined;
  } catch {
    return undefined;
  }
}

function columnType(values: unknown[]): string {
  const v = values.find((x) => x !== null && x !== undefined);
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return "object";
}

/** The `table` result format: {columns: [{name, type}], rows: [[...]]}. */
function toTable(columns: string[], rows: Row[]): Row {
  return {
    columns: columns.map((name) => ({ name, type: COLUMN_TYPES.get(name) ?? columnType(rows.map((r) => r[name])) })),
    rows: rows.map((r) => columns.map((c) => r[c] ?? null)),
  };
}
