import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { localTls } from "../tls.js";
import type { Collection, SyntheticDataset } from "./dataset.js";
import { FakeResourceGraph, RESOURCE_GRAPH_PATH, type ResourceGraphOptions } from "./resource-graph.js";

/** What the fake does to a request instead of answering it normally. */
export type Fault =
  { kind: "status"; status: number; retryAfter?: number; code?: string } | { kind: "reset" } | { kind: "delay"; ms: number } | { kind: "malformed" } | { kind: "body"; body: unknown };

export interface FaultRule {
  fault: Fault;
  /** Requests whose path (with query) matches; all when absent. */
  path?: RegExp;
  /** Requests whose body matches (a Resource Graph query's: its query, subscriptions, skip token); all when absent. */
  body?: RegExp;
  /** How many matching requests it applies to. */
  times: number;
}

export interface ServedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  authorization: string | undefined;
  /** The request's body as sent ("" for a GET). */
  body: string;
  fault?: Fault["kind"];
  /** When it arrived (epoch milliseconds). */
  at: number;
}

export interface FakeArmServer {
  url: string;
  /** The certificate to trust (tlsOptions.ca, or NODE_EXTRA_CA_CERTS with certFile). */
  ca: string;
  certFile: string;
  requests: ServedRequest[];
  pageSize: number;
  /** The most requests that were in flight at once. */
  readonly maxInFlight: number;
  inject(fault: Fault, options?: { path?: RegExp; body?: RegExp; times?: number }): void;
  /** Forgets the faults not yet spent. */
  clearFaults(): void;
  close(): Promise<void>;
}

interface Route {
  pattern: RegExp;
  apiVersions: string[];
  list(m: RegExpExecArray, query: URLSearchParams, data: SyntheticDataset): Collection | undefined;
}

const SEC = "providers/Microsoft\\.Security";
const SUB = "/subscriptions/([^/]+)";
const RG = "(?:/resourceGroups/([^/]+))?";

// The routes of the Microsoft.Security list operations, with the api-versions the SDK sends (and newer ones).
const ROUTES: Route[] = [
  { pattern: new RegExp(`^${SUB}${RG}/${SEC}/alerts$`, "i"), apiVersions: ["2021-11-01", "2022-01-01"], list: (m, _q, d) => d.alerts(m[2]) },
  { pattern: new RegExp(`^${SUB}${RG}/${SEC}/assessments$`, "i"), apiVersions: ["2021-06-01", "2025-05-04"], list: (m, _q, d) => d.assessments(m[2]) },
  { pattern: new RegExp(`^/${SEC}/assessmentMetadata$`, "i"), apiVersions: ["2021-06-01", "2025-05-04"], list: (_m, _q, d) => d.assessmentMetadata() },
  { pattern: new RegExp(`^${SUB}/${SEC}/assessmentMetadata$`, "i"), apiVersions: ["2021-06-01", "2025-05-04"], list: (_m, _q, d) => d.subscriptionAssessmentMetadata() },
  { pattern: new RegExp(`^${SUB}${RG}/${SEC}/subAssessments$`, "i"), apiVersions: ["2019-01-01-preview"], list: (m, _q, d) => d.subAssessments(m[2]) },
  { pattern: new RegExp(`^${SUB}/${SEC}/secureScores$`, "i"), apiVersions: ["2020-01-01"], list: (_m, _q, d) => d.secureScores() },
  {
    pattern: new RegExp(`^${SUB}/${SEC}/secureScoreControls$`, "i"),
    apiVersions: ["2020-01-01"],
    list: (_m, q, d) => d.secureScoreControls((q.get("$expand") ?? "").toLowerCase() === "definition"),
  },
  { pattern: new RegExp(`^${SUB}/${SEC}/regulatoryComplianceStandards$`, "i"), apiVersions: ["2019-01-01-preview"], list: (_m, _q, d) => d.standards() },
  {
    pattern: new RegExp(`^${SUB}/${SEC}/regulatoryComplianceStandards/([^/]+)/regulatoryComplianceControls$`, "i"),
    apiVersions: ["2019-01-01-preview"],
    list: (m, _q, d) => d.controls(decodeURIComponent(m[2]!)),
  },
  {
    pattern: new RegExp(`^${SUB}/${SEC}/regulatoryComplianceStandards/([^/]+)/regulatoryComplianceControls/([^/]+)/regulatoryComplianceAssessments$`, "i"),
    apiVersions: ["2019-01-01-preview"],
    list: (m, _q, d) => d.complianceAssessments(decodeURIComponent(m[2]!), decodeURIComponent(m[3]!)),
  },
];

/**
 * A local HTTPS endpoint that answers the Microsoft.Security list operations as ARM does: bearer
 * token required, api-version checked, `{ value, nextLink }` pages with an absolute nextLink, ARM
 * error bodies; and Resource Graph's query API (resource-graph.ts). Faults are injected per request;
 * every request served is recorded.
 */
export async function startFakeArm(options: { dataset: SyntheticDataset; pageSize?: number; cachePages?: boolean; resourceGraph?: ResourceGraphOptions }): Promise<FakeArmServer> {
  const graph = new FakeResourceGraph(options.resourceGraph ?? {}, options.dataset);
  // The list routes serve every subscription of the tenant, each from its own dataset (the main one for its own id).
  const subscriptions = new Map([...(options.resourceGraph?.datasets ?? []), options.dataset].map((d) => [d.subscriptionId.toLowerCase(), d]));
  // Benchmarks serve the same pages many times: rendering them once keeps the fake out of the figures.
  const pageCache = new Map<string, string>();
  const tls = localTls();
  const faults: FaultRule[] = [];
  const requests: ServedRequest[] = [];
  const sockets = new Set<Socket>();
  const state = { pageSize: options.pageSize ?? 100, url: "", inFlight: 0, maxInFlight: 0 };

  const server: Server = createServer({ key: tls.key, cert: tls.cert, keepAlive: true }, (req, res) => {
    void handle(req, res);
  });
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
    res.on("close", () => state.inFlight--);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", state.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const served: ServedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      authorization: req.headers.authorization,
      body: Buffer.concat(chunks).toString("utf8"),
      at: Date.now(),
    };
    requests.push(served);
    const rule = faults.find((f) => f.times > 0 && (f.path === undefined || f.path.test(`${url.pathname}${url.search}`)) && (f.body === undefined || f.body.test(served.body)));
    if (rule !== undefined) {
      rule.times--;
      served.fault = rule.fault.kind;
      const fault = rule.fault;
      if (fault.kind === "reset") {
        served.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.kind === "status") {
        const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
        reply(res, served, fault.status, { error: { code: fault.code ?? codeFor(fault.status), message: `Injected fault: HTTP ${fault.status}.` } }, headers);
        return;
      }
      if (fault.kind === "body") {
        reply(res, served, 200, fault.body);
        return;
      }
      if (fault.kind === "malformed") {
        served.status = 200;
        res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
        res.end('{"value": [{"id": "/subscriptions/x", "name": ');
        return;
      }
      await new Promise((r) => setTimeout(r, fault.ms));
    }
    answer(req, res, url, served);
  }

  function answer(req: IncomingMessage, res: ServerResponse, url: URL, served: ServedRequest): void {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
      return reply(res, served, 401, { error: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } });
    }
    if (RESOURCE_GRAPH_PATH.test(url.pathname) && req.method === "POST") {
      const a = graph.answer({ apiVersion: url.searchParams.get("api-version"), contentType: req.headers["content-type"], caller: req.headers.authorization ?? "", body: served.body });
      return reply(res, served, a.status, a.body, a.headers);
    }
    if (req.method !== "GET") return reply(res, served, 405, { error: { code: "MethodNotAllowed", message: "The fake serves list operations and Resource Graph queries only." } });
    const route = ROUTES.map((r) => ({ r, m: r.pattern.exec(url.pathname) })).find((x) => x.m !== null);
    if (route === undefined || route.m === null) {
      return reply(res, served, 404, { error: { code: "InvalidResourceType", message: `The resource type could not be found for ${url.pathname}.` } });
    }
    const apiVersion = url.searchParams.get("api-version");
    if (apiVersion === null)
      return reply(res, served, 400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
    if (!route.r.apiVersions.includes(apiVersion)) {
      return reply(res, served, 400, {
        error: { code: "InvalidApiVersionParameter", message: `The api-version '${apiVersion}' is invalid. The supported versions are '${route.r.apiVersions.join(",")}'.` },
      });
    }
    const sub = route.m[1];
    const dataset = sub === undefined ? options.dataset : subscriptions.get(sub.toLowerCase());
    if (dataset === undefined) return reply(res, served, 404, { error: { code: "SubscriptionNotFound", message: `The subscription '${sub}' could not be found.` } });
    const collection = route.r.list(route.m, url.searchParams, dataset);
    if (collection === undefined) return reply(res, served, 404, { error: { code: "NotFound", message: "The parent resource was not found." } });
    const cached = options.cachePages ? pageCache.get(`${url.pathname}${url.search}`) : undefined;
    if (cached !== undefined) return replyText(res, served, 200, cached);
    const skip = Number(url.searchParams.get("$skipToken") ?? "0");
    if (!Number.isInteger(skip) || skip < 0) return reply(res, served, 400, { error: { code: "InvalidSkipToken", message: "The skip token is invalid." } });
    const end = Math.min(collection.count, skip + state.pageSize);
    const value = [];
    for (let i = skip; i < end; i++) value.push(collection.at(i));
    const body: Record<string, unknown> = { value };
    if (end < collection.count) {
      const next = new URL(url.pathname, state.url);
      for (const [k, v] of url.searchParams) if (k !== "$skipToken") next.searchParams.set(k, v);
      next.searchParams.set("$skipToken", String(end));
      body["nextLink"] = next.href;
    }
    const text = JSON.stringify(body);
    if (options.cachePages) pageCache.set(`${url.pathname}${url.search}`, text);
    replyText(res, served, 200, text);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the fake ARM server has no port");
  state.url = `https://127.0.0.1:${address.port}`;

  return {
    get url() {
      return state.url;
    },
    ca: tls.cert,
    certFile: tls.certFile,
    requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    get pageSize() {
      return state.pageSize;
    },
    set pageSize(n: number) {
      state.pageSize = n;
    },
    inject(fault, opts = {}) {
      faults.push({ fault, times: opts.times ?? 1, ...(opts.path ? { path: opts.path } : {}), ...(opts.body ? { body: opts.body } : {}) });
    },
    clearFaults() {
      faults.length = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reply(res: ServerResponse, served: ServedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  replyText(res, served, status, JSON.stringify(body), headers);
}

function replyText(res: ServerResponse, served: ServedRequest, status: number, text: string, headers: Record<string, string> = {}): void {
  served.status = status;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "x-ms-request-id": crypto.randomUUID(), ...headers });
  res.end(text);
}

function codeFor(status: number): string {
  return status === 429 ? "TooManyRequests" : status === 503 ? "ServiceUnavailable" : status >= 500 ? "InternalServerError" : "BadRequest";
}
