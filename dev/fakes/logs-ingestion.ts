import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { localTls } from "./tls.js";

export type IngestionFault = { kind: "status"; status: number; retryAfter?: number } | { kind: "reset" };

export interface IngestionRequest {
  ruleId: string;
  stream: string;
  status: number;
  rows: number;
  /** Bytes on the wire (gzipped) and once inflated. */
  bytes: number;
  inflatedBytes: number;
  fault?: string;
}

export interface FakeLogsIngestion {
  url: string;
  ca: string;
  /** Rows accepted, per stream, in arrival order. */
  accepted: Map<string, Record<string, unknown>[]>;
  requests: IngestionRequest[];
  inject(fault: IngestionFault, options?: { times?: number; stream?: string }): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/** The Logs Ingestion API's limit on a call, compressed or not. */
const MAX_BODY = 1_048_576;

/**
 * A local Logs Ingestion endpoint: `POST /dataCollectionRules/{id}/streams/{stream}?api-version=2023-01-01`,
 * bearer token, gzip or plain JSON arrays of rows; 204 on success. It checks the rule, the stream, the
 * declared columns (400) and the 1 MB limit (413 ContentLengthLimitExceeded), and injects faults.
 */
export async function startFakeLogsIngestion(options: { ruleId: string; streams: Record<string, readonly string[]> }): Promise<FakeLogsIngestion> {
  const tls = localTls();
  const accepted = new Map<string, Record<string, unknown>[]>();
  const requests: IngestionRequest[] = [];
  const faults: { fault: IngestionFault; times: number; stream?: string }[] = [];
  const sockets = new Set<Socket>();

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => void handle(req, res));
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://localhost");
    const m = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    const raw = await body(req);
    const record: IngestionRequest = { ruleId: m?.[1] ?? "", stream: decodeURIComponent(m?.[2] ?? ""), status: 0, rows: 0, bytes: raw.length, inflatedBytes: 0 };
    requests.push(record);
    const fault = faults.find((f) => f.times > 0 && (f.stream === undefined || f.stream === record.stream));
    if (fault) {
      fault.times--;
      record.fault = fault.fault.kind === "status" ? String(fault.fault.status) : "reset";
      if (fault.fault.kind === "reset") {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = fault.fault.retryAfter === undefined ? {} : { "retry-after": String(fault.fault.retryAfter) };
      return send(res, record, fault.fault.status, { error: { code: codeFor(fault.fault.status), message: `Injected fault: HTTP ${fault.fault.status}.` } }, headers);
    }
    if (req.method !== "POST" || !m) return send(res, record, 404, { error: { code: "NotFound", message: "Unknown path." } });
    if (new URLSearchParams(url.search).get("api-version") !== "2023-01-01") return send(res, record, 400, { error: { code: "InvalidApiVersion", message: "api-version 2023-01-01 is required." } });
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) return send(res, record, 401, { error: { code: "InvalidToken", message: "A bearer token is required." } });
    if (record.ruleId !== options.ruleId) return send(res, record, 404, { error: { code: "InvalidDcrImmutableId", message: `The data collection rule ${record.ruleId} was not found.` } });
    const columns = options.streams[record.stream];
    if (columns === undefined) return send(res, record, 404, { error: { code: "InvalidStream", message: `The stream ${record.stream} is not declared in the data collection rule.` } });
    let text: Buffer = raw;
    if (req.headers["content-encoding"] === "gzip") {
      try {
        text = gunzipSync(raw);
      } catch {
        return send(res, record, 400, { error: { code: "InvalidContentEncoding", message: "The body is not valid gzip." } });
      }
    }
    record.inflatedBytes = text.length;
    if (raw.length > MAX_BODY || text.length > MAX_BODY) {
      return send(res, record, 413, { error: { code: "ContentLengthLimitExceeded", message: "Maximum allowed content length: 1048576 bytes (1 MB)." } });
    }
    let rows: unknown;
    try {
      rows = JSON.parse(text.toString("utf8"));
    } catch {
      return send(res, record, 400, { error: { code: "InvalidPayload", message: "The body is not valid JSON." } });
    }
    if (!Array.isArray(rows) || rows.some((r) => typeof r !== "object" || r === null || Array.isArray(r))) {
      return send(res, record, 400, { error: { code: "InvalidPayload", message: "The body must be a JSON array of objects." } });
    }
    for (const row of rows as Record<string, unknown>[]) {
      const unknown = Object.keys(row).filter((k) => !columns.includes(k));
      if (unknown.length > 0) return send(res, record, 400, { error: { code: "InvalidColumns", message: `Columns not declared in the stream: ${unknown.join(", ")}.` } });
    }
    record.rows = rows.length;
    accepted.set(record.stream, [...(accepted.get(record.stream) ?? []), ...(rows as Record<string, unknown>[])]);
    record.status = 204;
    res.writeHead(204);
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `https://127.0.0.1:${address.port}`,
    ca: tls.cert,
    accepted,
    requests,
    inject(fault, opts = {}) {
      faults.push({ fault, times: opts.times ?? 1, ...(opts.stream ? { stream: opts.stream } : {}) });
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

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, record: IngestionRequest, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  record.status = status;
  const text = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "x-ms-error-code": (payload as { error: { code: string } }).error.code, ...headers });
  res.end(text);
}

function codeFor(status: number): string {
  return status === 429 ? "TooManyRequests" : status === 413 ? "ContentLengthLimitExceeded" : status >= 500 ? "InternalServerError" : "BadRequest";
}
