import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { filesUnder, ROOT } from "../helpers/settings.js";

/**
 * .funcignore as azd reads it: github.com/denormal/go-gitignore (pattern.go, gitignore.go), which azd uses in
 * cli/azd/pkg/project/project_utils.go (createDeployableZip) and service_target_functionapp.go
 * (resolveFunctionAppRemoteBuild), Azure/azure-dev @ ae35809. Only the forms this file uses are modelled: a name
 * pattern with * and ?, anchored by a leading "/" (then matched against the whole relative path) or not (then
 * against the last path element), for directories only with a trailing "/"; the last matching line wins.
 */
function ignoreFile(text: string): { patterns: string[]; ignored: (path: string, isDir: boolean) => boolean } {
  const patterns = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const compiled = patterns.map((line) => {
    const anchored = line.startsWith("/");
    const directory = line.endsWith("/");
    const body = line.slice(anchored ? 1 : 0, directory ? -1 : undefined);
    if (/[/![\]\\]|\*\*/.test(body)) throw new Error(`.funcignore: ${line} is a form this test does not model`);
    // fnmatch without FNM_PATHNAME: * matches any run of characters, / included.
    const regex = new RegExp(
      `^${body
        .replace(/[.+^${}()|]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      "s",
    );
    return (path: string, isDir: boolean) => (!directory || isDir) && regex.test(anchored ? path : posix.basename(path));
  });
  return { patterns, ignored: (path, isDir) => compiled.some((match) => match(path, isDir)) };
}

const funcignore = ignoreFile(readFileSync(join(ROOT, ".funcignore"), "utf8"));

/** The package azd zips from the project folder: each entry walked, an ignored folder not entered. */
function packaged(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = relative(ROOT, join(dir, entry.name)).split("\\").join("/");
      const isDir = entry.isDirectory();
      // azd's own exclusions: .azure/, the ignore file, and local.settings.json for a Functions app.
      if ((isDir && entry.name === ".azure") || (!isDir && [".funcignore", "local.settings.json"].includes(entry.name))) continue;
      if (funcignore.ignored(path, isDir)) continue;
      out.add(isDir ? `${path}/` : path);
      // Whatever is in a node_modules that is not left out would be shipped whole: no need to list it.
      if (isDir && entry.name !== "node_modules") walk(join(dir, entry.name));
    }
  };
  walk(ROOT);
  return out;
}

describe("the Functions app's package (azd deploy)", () => {
  it("leaves node_modules out and is built on the platform (remoteBuild: true), which azd requires together", () => {
    expect(funcignore.ignored("node_modules", true)).toBe(true); // resolveFunctionAppRemoteBuild's check
    const azure = readFileSync(join(ROOT, "azure.yaml"), "utf8");
    expect(azure).toMatch(/\n {2}api:\n(?: {4}.*\n)* {4}remoteBuild: true\n/);
    expect(packaged()).not.toContain("node_modules/");
  });

  it("leaves out local secrets and leftovers, and what the app does not run", () => {
    for (const [path, isDir] of [
      [".env", false],
      [".azurite", true],
      ["coverage", true],
      ["npm-debug.log", false],
      ["test-results.json", false],
      ["scratch", true],
    ] as const) {
      expect(funcignore.ignored(path, isDir), path).toBe(true);
    }
    const files = packaged();
    for (const gone of ["test/", "bench/", "infra/", "examples/", ".ci/", "local.settings.sample.json", "vitest.config.ts", "eslint.config.js"]) expect(files).not.toContain(gone);
  });

  it("keeps what the runtime reads and what the remote build needs (npm install runs scripts/prepare.mjs, then npm run build)", () => {
    const files = packaged();
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { main: string; scripts: Record<string, string> };
    expect(existsSync(join(ROOT, pkg.main))).toBe(true); // dist/ is built before the tests (test/setup/build.ts)
    for (const kept of ["host.json", "package.json", "package-lock.json", pkg.main, "scripts/prepare.mjs", "tsconfig.json", "tsconfig.build.json"]) expect(files, kept).toContain(kept);
    expect(pkg.scripts["prepare"]).toBe("node scripts/prepare.mjs");
    const build = JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8")) as { extends: string; include: string[] };
    expect(files).toContain(posix.normalize(build.extends));
    for (const folder of build.include) for (const file of filesUnder(join(ROOT, folder))) expect(files).toContain(relative(ROOT, file).split("\\").join("/"));
    // Files the compiled code opens next to itself (new URL("../..", import.meta.url)) are in the package too.
    for (const file of filesUnder(join(ROOT, "src")).filter((f) => f.endsWith(".ts"))) {
      const compiled = join(ROOT, "dist", relative(join(ROOT, "src"), file)).replace(/\.ts$/, ".js");
      for (const m of readFileSync(file, "utf8").matchAll(/new URL\("(\.\.?\/[^"]+)", import\.meta\.url\)/g)) {
        expect(files, `${relative(ROOT, file)} reads ${m[1]}`).toContain(
          relative(ROOT, join(dirname(compiled), m[1]!))
            .split("\\")
            .join("/"),
        );
      }
    }
  });

  it("scripts/prepare.mjs keeps the shipped dist/ in an install without TypeScript (a production install)", () => {
    const scratch = mkdtempSync(join(tmpdir(), "defender-export-prepare-"));
    try {
      mkdirSync(join(scratch, "scripts"));
      copyFileSync(join(ROOT, "scripts", "prepare.mjs"), join(scratch, "scripts", "prepare.mjs"));
      const run = spawnSync(process.execPath, ["scripts/prepare.mjs"], { cwd: scratch, encoding: "utf8" });
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("dist/ is used as shipped");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("names folders from the top only, so that a folder of the same name deeper down stays", () => {
    expect(funcignore.patterns.filter((p) => !p.startsWith("/") && !/^\*\.\w+$/.test(p))).toEqual([]);
    for (const nested of ["dist/test", "src/infra", "dist/examples"]) expect(funcignore.ignored(nested, true), nested).toBe(false);
  });
});
