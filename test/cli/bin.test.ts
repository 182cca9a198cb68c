import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = `${root}bin/defender-export.js`;

describe("the installed defender-export binary", () => {
  it("is built by npm ci (the prepare script)", () => {
    expect(existsSync(`${root}dist/cli/main.js`), "dist/ is missing: npm ci (or npm run build) builds it").toBe(true);
  });

  it("--help works", () => {
    const run = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Usage: defender-export <command>");
  });

  it("exits 2 on invalid input, as scripts rely on", () => {
    const run = spawnSync(process.execPath, [bin, "validate", "-"], { encoding: "utf8", input: '{"sources": [{"eventSource": "Nope"}]}' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("error: $.sources[0].eventSource");
  });

  it("ends quietly when the reader goes away (| head)", async () => {
    const child = spawn(process.execPath, [bin, "preview", "-c", `${root}examples/policy-defaults.json`, `${root}examples/records`], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(stderr).not.toContain("EPIPE");
  });
});
