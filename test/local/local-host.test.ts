import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `npm start`, as a newcomer runs it: the local host, Azurite and the sandbox in a process of their own.
let child: ChildProcess;
let url: string;
const output: string[] = [];

beforeAll(async () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  // What `npm start` runs, read from package.json, on this Node.
  const start = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start.split(" ");
  expect(start[0]).toBe("node");
  child = spawn(process.execPath, start.slice(1), { cwd: root, env: { ...process.env, PORT: "0", DEFENDER_EXPORT_STREAM_SCHEDULE: "*/2 * * * * *" }, stdio: ["ignore", "pipe", "pipe"] });
  child.stderr!.on("data", (c: Buffer) => output.push(c.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local host did not start in 40 s:\n${output.join("")}`)), 40_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output.push(line);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/api/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`the local host exited with ${code}:\n${output.join("\n")}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
});

const api = async (path: string, init: RequestInit = {}) => {
  const r = await fetch(`${url}/api/${path}`, init);
  return { status: r.status, body: (await r.json().catch(() => undefined)) as Record<string, unknown> };
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 40): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen in ${seconds} s:\n${output.join("\n")}`);
}

describe("the local host (npm start)", () => {
  it("serves the API, takes a configuration over HTTP, and its passes reach the local destinations", async () => {
    expect((await api("health")).body).toEqual({ status: "healthy", checks: { storage: "ok", configurations: "ok" } });
    const sandbox = await until("the sandbox configuration", async () => {
      const r = await api("exports/sandbox");
      return r.status === 200 ? (r.body["configuration"] as Record<string, unknown>) : undefined;
    });
    const before = await api("sandbox");
    const created = await api("exports/e2e", {
      method: "PUT",
      body: JSON.stringify({ ...sandbox, name: undefined, sources: [{ eventSource: "Alerts" }] }),
      headers: { "content-type": "application/json" },
    });
    expect(created.status).toBe(201);

    const status = await until("a pass of e2e", async () => {
      const r = await api("exports/e2e/status");
      const flow = r.body["flow"] as { status: string };
      return flow.status === "flowing" ? r.body : undefined;
    });
    const passes = (status["sources"] as { passes: { mode: string; actions: Record<string, { sent: number }> }[] }[])[0]!.passes;
    const baseline = passes.find((p) => p.mode === "baseline")!;
    expect(Object.values(baseline.actions).map((a) => a.sent)).toEqual([expect.any(Number), expect.any(Number)]);
    const sent = Object.values(baseline.actions)[0]!.sent;
    expect(sent).toBeGreaterThan(0);
    const after = (await api("sandbox")).body as { logAnalytics: Record<string, number> };
    expect(after.logAnalytics["Custom-SecurityAlert_CL"]! - ((before.body as { logAnalytics: Record<string, number> }).logAnalytics["Custom-SecurityAlert_CL"] ?? 0)).toBeGreaterThanOrEqual(sent);
    expect(output.some((l) => /passWorker: .*Alerts .*baseline; read \d+/.test(l))).toBe(true);
    // The sandbox's own configuration exports its attack paths, from the local Resource Graph endpoint.
    await until("the sandbox's attack paths", async () => {
      const counts = (await api("sandbox")).body as { logAnalytics: Record<string, number> };
      return (counts.logAnalytics["Custom-SecurityAttackPathData_CL"] ?? 0) >= 5 ? true : undefined;
    });

    const bad = await api("exports/e2e", { method: "PUT", body: "{", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect((await api("nope")).status).toBe(404);
  }, 90_000);

  it("answers only loopback hosts and its own pages, takes only JSON bodies, refuses an over-limit length before reading, and a malformed path is a 400", async () => {
    const port = Number(new URL(url).port);
    const raw = (path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
        const started = Date.now();
        const req = request({ host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
        });
        req.on("error", reject);
        if (options.body !== undefined) req.write(options.body);
        // A client that declares a body it never sends: only an answer from the header ends this request.
        if (options.headers?.["content-length"] === undefined || options.body !== undefined) req.end();
        else req.flushHeaders();
      });
    // DNS rebinding: a page on another name that resolves here.
    expect((await raw("/api/exports", { headers: { host: `evil.example:${port}` } })).status).toBe(403);
    // A cross-site page driving the API, with a body a form may send without a preflight.
    expect((await raw("/api/exports/sandbox/run", { method: "POST", headers: { origin: "http://evil.example", "content-type": "text/plain" }, body: "" })).status).toBe(403);
    expect((await raw("/api/exports/sandbox/snapshot", { method: "POST", headers: { "sec-fetch-site": "cross-site" } })).status).toBe(403);
    expect((await raw("/api/exports/x", { method: "PUT", headers: { "content-type": "text/plain" }, body: "{}" })).status).toBe(415);
    const declared = await raw("/api/exports/x", { method: "PUT", headers: { "content-type": "application/json", "content-length": "99999999999" } });
    expect(declared.status).toBe(413);
    expect(declared.ms).toBeLessThan(5_000);
    for (const bad of ["%", "%zz", "%E0%A4%A", "%C0%AF", "%ED%A0%80"]) expect((await raw(`/api/exports/${bad}`)).status, bad).toBe(400);
    // Another local server's page (a dev server on another port) is another origin too.
    expect((await raw("/api/exports/sandbox/run", { method: "POST", headers: { origin: "http://localhost:3000", "sec-fetch-site": "same-site" } })).status).toBe(403);
    // A chunked body (no declared length) over the limit: answered 413 once the limit is passed, the rest never read.
    const chunked = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = request({ host: "127.0.0.1", port, path: "/api/exports/x", method: "PUT", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
        req.destroy();
      });
      req.on("error", reject);
      const piece = Buffer.alloc(64 * 1024, 0x20);
      // A chunk a turn, so that the answer is read as soon as it comes.
      const pump = () => {
        if (req.destroyed) return;
        if (sent >= 16 * 1024 * 1024) return void req.end();
        sent += piece.length;
        if (req.write(piece)) setImmediate(pump);
        else req.once("drain", pump);
      };
      pump();
    });
    expect(chunked.status).toBe(413);
    expect(chunked.sent).toBeLessThan(16 * 1024 * 1024);
    // Its own page (or no Origin, as curl) is answered.
    expect((await raw("/api/exports", { headers: { origin: url } })).status).toBe(200);
    expect((await raw("/api/exports", { headers: { host: `localhost:${port}` } })).status).toBe(200);
  });
});
