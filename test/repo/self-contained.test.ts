import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FOLDERS = ["src", "dev", "test", "bench", "scripts"];
const CODE = /\.(?:[cm]?[jt]s|sh)$/;

function* files(folder: string): Generator<string> {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (CODE.test(entry.name)) yield path;
  }
}

// A quoted or template string that starts as a relative path: an import, a URL made from import.meta.url, a join.
const RELATIVE = /["'`]((?:\.\.?\/)+[^"'`$\s]*)/g;
const OUTSIDE_NAMES = /\bshared\/(?:reference|reviews|hooks)\b|\/work\//;

/** Relative paths in a file that resolve outside the repository, and names of places outside it. */
export function pathsLeavingRepository(file: string, text: string, root: string): string[] {
  const found: string[] = [];
  for (const [line, content] of text.split("\n").entries()) {
    for (const m of content.matchAll(RELATIVE)) {
      const target = resolve(dirname(file), m[1]!);
      const rel = relative(root, target);
      if (rel === ".." || rel.startsWith(`..${sep}`)) found.push(`${relative(root, file)}:${line + 1}: ${m[1]}`);
    }
    if (OUTSIDE_NAMES.test(content)) found.push(`${relative(root, file)}:${line + 1}: ${content.trim().slice(0, 120)}`);
  }
  return found;
}

describe("the repository is self-contained", () => {
  it("nothing under src/, dev/, test/, bench/ or scripts/ reads a path outside the repository", () => {
    const self = fileURLToPath(import.meta.url);
    const leaks = FOLDERS.flatMap((folder) => [...files(join(ROOT, folder))])
      .filter((file) => file !== self)
      .flatMap((file) => pathsLeavingRepository(file, readFileSync(file, "utf8"), ROOT));
    expect(leaks).toEqual([]);
  });

  it("src/, what ships, imports nothing under test/ or dev/ (the fakes and the local host live there)", () => {
    const reaching = [...files(join(ROOT, "src"))].flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/(?:from|import\(?)\s*"([^"]+)"/g)]
        .filter((m) =>
          /^(?:test|dev)(?:\/|$)/.test(
            relative(ROOT, join(dirname(file), m[1]!))
              .split("\\")
              .join("/"),
          ),
        )
        .map((m) => `${relative(ROOT, file)}: ${m[1]}`),
    );
    expect(reaching).toEqual([]);
  });

  it("the guard sees a path that climbs out, and lets one that stays in", () => {
    const file = join(ROOT, "test", "helpers", "examples.ts");
    expect(pathsLeavingRepository(file, 'new URL("../../../shared/reference/api-examples/", import.meta.url)', ROOT)).toHaveLength(2);
    expect(pathsLeavingRepository(file, 'readFileSync(join(here, "../../../elsewhere/x.json"))', ROOT)).toHaveLength(1);
    expect(pathsLeavingRepository(file, 'new URL("../fixtures/api-examples/", import.meta.url); import "../../src/x.js"', ROOT)).toEqual([]);
  });
});
