import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { TokenCredential } from "@azure/core-auth";
import functions, { type HttpResponseInit, type LogHandler, type Timer } from "@azure/functions";
import { Cron } from "croner";
import { bindHttp, bindQueue, bindTimer, type FunctionDefinition, type HttpFunction } from "../../src/functions/definitions.js";
import { decodeMessageText } from "../../src/hosting/queue.js";
import { ExportService } from "../../src/hosting/service.js";
import type { AppSettings } from "../../src/hosting/settings.js";
import type { StorageClients } from "../../src/hosting/storage.js";

// A webpack bundle: Node sees no named exports in it.
const { HttpRequest, InvocationContext } = functions;
type InvocationContext = functions.InvocationContext;

export interface LocalHostOptions {
  functions: readonly FunctionDefinition[];
  storage: StorageClients;
  settings: AppSettings;
  credential: TokenCredential;
  tlsCa?: string;
  port: number;
  log: (line: string) => void;
  /** Extra local-only routes (the sandbox's), answered before the functions. */
  extraRoutes?: Record<string, () => unknown>;
  /** How often the queue is polled when it was empty. */
  pollMs?: number;
}

export interface LocalHost {
  url: string;
  service: ExportService;
  close(): Promise<void>;
}

// The Functions host's queue settings (host.json extensions.queues): this many tries, then the poison queue.
const MAX_DEQUEUE_COUNT = (JSON.parse(readFileSync(new URL("../../host.json", import.meta.url), "utf8")) as { extensions: { queues: { maxDequeueCount: number } } }).extensions.queues.maxDequeueCount;

/**
 * The Functions app without the Functions host: the same definitions, bound through the same path,
 * behind a plain HTTP server on /api, with the timers on their schedules and a worker on the pass queue.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const service = new ExportService({ storage: options.storage, settings: options.settings, credential: options.credential, ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}) });
  const provide = () => Promise.resolve(service);
  const context = (functionName: string) => new InvocationContext({ invocationId: randomUUID(), functionName, logHandler: logHandler(functionName, options.log) });

  const routes = options.functions.filter((f): f is HttpFunction => f.kind === "http").map((f) => ({ f, pattern: routePattern(f.route), handler: bindHttp(f, provide) }));
  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((e: unknown) => {
      options.log(`local host: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Loopback only, and only for a page of its own: a web page elsewhere must not drive this API (DNS
    // rebinding, cross-site requests), since it reads real data with the developer's credentials.
    const refused = refusedRequest(req, options.settings.maxBodyBytes, (server.address() as AddressInfo).port);
    if (refused !== undefined) {
      res.setHeader("connection", "close");
      return send(res, refused);
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const extra = options.extraRoutes?.[url.pathname];
    if (extra !== undefined && req.method === "GET") return send(res, { status: 200, jsonBody: extra() });
    const path = url.pathname.replace(/^\/api\//, "");
    for (const route of routes) {
      const m = url.pathname.startsWith("/api/") ? route.pattern.exec(path) : null;
      if (m === null) continue;
      if (!route.f.methods.includes((req.method ?? "GET") as never)) return send(res, { status: 405, headers: { allow: route.f.methods.join(", ") } });
      let params: Record<string, string>;
      try {
        params = m.groups ? Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, decodeURIComponent(v)])) : {};
      } catch {
        return send(res, problemResponse(400, "Bad Request", "the path has a malformed percent-encoding"));
      }
      const body = await readCapped(req, options.settings.maxBodyBytes + 1);
      // Over the limit (a chunked body, its length not declared): answered now, the rest never read.
      if (body.length > options.settings.maxBodyBytes) lingeringClose(req, res);
      const request = new HttpRequest({
        method: req.method ?? "GET",
        url: `http://localhost${req.url ?? "/"}`,
        headers: Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(", ") : v]]))),
        query: Object.fromEntries(url.searchParams),
        params,
        ...(body.length > 0 ? { body: { bytes: body } } : {}),
      });
      return send(res, await route.handler(request, context(route.f.name)));
    }
    send(res, problemResponse(404, "Not Found", `no function serves ${url.pathname}`));
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code === "EADDRINUSE" ? `port ${options.port} is in use: stop what holds it, or set PORT` : e.message)));
    server.listen(options.port, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const timers = options.functions.flatMap((f) => {
    if (f.kind !== "timer") return [];
    const handler = bindTimer(f, provide);
    const job = new Cron(f.schedule(options.settings), { timezone: "UTC", protect: true }, async () => {
      const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: job.nextRun()?.toISOString() ?? "", lastUpdated: new Date().toISOString() } };
      await handler(timer, context(f.name)).catch(() => undefined);
    });
    return [job];
  });

  let stopping = false;
  const workers = options.functions.flatMap((f) => {
    if (f.kind !== "queue") return [];
    const handler = bindQueue(f, provide);
    return [work(f.name, handler)];
  });
  async function work(name: string, handler: (message: unknown, context: InvocationContext) => Promise<void>): Promise<void> {
    const queue = service.queue;
    const visibility = options.settings.passTimeLimitSeconds + 60;
    while (!stopping) {
      let received;
      try {
        await queue.queue.createIfNotExists();
        received = await queue.queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: visibility });
      } catch (e) {
        options.log(`${name}: the queue is unreachable: ${(e as Error).message.split("\n")[0]}`);
        await sleep(5000);
        continue;
      }
      const item = received.receivedMessageItems[0];
      if (item === undefined) {
        await sleep(options.pollMs ?? 1000);
        continue;
      }
      const text = decodeMessageText(item.messageText);
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // The host hands over text that is not JSON as a string; the handler says what is wrong with it.
      }
      try {
        await handler(message, context(name));
        await queue.queue.deleteMessage(item.messageId, item.popReceipt);
      } catch {
        if (item.dequeueCount >= MAX_DEQUEUE_COUNT) {
          await queue.poison.createIfNotExists();
          await queue.poison.sendMessage(item.messageText);
          await queue.queue.deleteMessage(item.messageId, item.popReceipt);
          options.log(`${name}: message ${item.messageId} moved to ${queue.poison.name} after ${item.dequeueCount} tries`);
        } else {
          // Visible again soon, as the host's retry would make it.
          await queue.queue.updateMessage(item.messageId, item.popReceipt, undefined, 2).catch(() => undefined);
        }
      }
    }
  }

  return {
    url,
    service,
    close: async () => {
      stopping = true;
      for (const t of timers) t.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(workers);
    },
  };
}

const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i;

/**
 * Why a request is refused before it is read: not to a loopback host, from a page of another origin (another
 * site, or another local server: only this host's own pages), not JSON, or declared too large.
 */
export function refusedRequest(req: Pick<IncomingMessage, "headers" | "method">, maxBodyBytes: number, port: number): HttpResponseInit | undefined {
  const host = req.headers.host ?? "";
  if (!LOOPBACK_HOST.test(host)) return problemResponse(403, "Forbidden", "the local host answers requests to localhost, 127.0.0.1 or [::1] only");
  const origin = req.headers.origin;
  const own = new RegExp(`^http://(?:localhost|127\\.0\\.0\\.1|\\[::1\\]):${port}$`, "i");
  if (origin !== undefined && !own.test(origin)) return problemResponse(403, "Forbidden", "the local host answers no request from a web page of another origin");
  const fetchSite = req.headers["sec-fetch-site"];
  if (fetchSite === "cross-site") return problemResponse(403, "Forbidden", "the local host answers no cross-site request");
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (declared !== undefined && (!Number.isSafeInteger(declared) || declared > maxBodyBytes))
    return problemResponse(413, "Content Too Large", `the body is over ${maxBodyBytes} bytes (DEFENDER_EXPORT_MAX_BODY_BYTES)`);
  const hasBody = (declared !== undefined && declared > 0) || req.headers["transfer-encoding"] !== undefined;
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (hasBody && type !== "application/json" && !type.endsWith("+json")) return problemResponse(415, "Unsupported Media Type", "a body must be JSON (content-type: application/json)");
  return undefined;
}

function problemResponse(status: number, title: string, detail: string): HttpResponseInit {
  return { status, jsonBody: { type: "about:blank", title, status, detail }, headers: { "content-type": "application/problem+json; charset=utf-8" } };
}

function routePattern(route: string): RegExp {
  const source = route
    .split("/")
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      return param ? `(?<${param[1]}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}

/**
 * Answer, then close, but go on discarding what the client still sends for a moment: closing a socket with
 * unread data resets it, and a reset can reach the client before the answer it has not read yet.
 */
function lingeringClose(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("connection", "close");
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
    socket.resume();
    setTimeout(() => socket.destroy(), 2_000).unref();
  };
}

/** The body, up to `cap` bytes: reading stops there (the handler answers 413 on what it got). */
function readCapped(req: IncomingMessage, cap: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off("data", take);
      req.off("end", done);
      req.off("error", reject);
      resolve(new Uint8Array(Buffer.concat(chunks)));
    };
    const take = (b: Buffer) => {
      chunks.push(b.subarray(0, cap - size));
      size += Math.min(b.length, cap - size);
      if (size >= cap) {
        req.pause();
        done();
      }
    };
    req.on("data", take);
    req.on("end", done);
    req.on("error", reject);
  });
}

function send(res: ServerResponse, response: HttpResponseInit): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((response.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
  let body: string | undefined;
  if (response.jsonBody !== undefined) {
    body = JSON.stringify(response.jsonBody);
    headers["content-type"] ??= "application/json; charset=utf-8";
  } else if (typeof response.body === "string") body = response.body;
  res.writeHead(response.status ?? 200, headers);
  res.end(body);
}

function logHandler(functionName: string, log: (line: string) => void): LogHandler {
  return (level, ...args) => {
    const text = args
      .filter((a) => typeof a !== "object" || a === null)
      .map(String)
      .join(" ");
    log(`[${new Date().toISOString()}] ${functionName}${level === "information" ? "" : ` ${level}`}: ${text}`);
  };
}
