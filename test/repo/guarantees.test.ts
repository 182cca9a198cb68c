import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? testSources(join(dir, e.name)) : e.name.endsWith(".ts") ? [readFileSync(join(dir, e.name), "utf8")] : []));
}

describe("docs/guarantees.md", () => {
  const text = readFileSync(join(ROOT, "docs", "guarantees.md"), "utf8");

  it("names test files that exist", () => {
    const files = [...text.matchAll(/`(test\/[^`\s]+\.ts)`/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(5);
    expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
  });

  it("quotes test titles that a test has (words elided with ... match anything)", () => {
    const sources = testSources(join(ROOT, "test")).join("\n");
    // The quoted titles of the Tests notes: those are what a reader searches for.
    const titles = [...text.matchAll(/\*Tests\*:([\s\S]*?)(?=\n\n|\*\*|$)/g)].flatMap((m) => [...m[1]!.replace(/\s*\n\s*/g, " ").matchAll(/"([^"]{8,})"/g)].map((t) => t[1]!));
    expect(titles.length).toBeGreaterThan(10);
    const missing = titles.filter((title) => {
      const pattern = new RegExp(
        title
          .split(/\s*\.\.\.\s*/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
          .join("[\\s\\S]{0,200}?"),
      );
      return !pattern.test(sources);
    });
    expect(missing).toEqual([]);
  });
});
