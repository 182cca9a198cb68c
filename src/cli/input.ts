import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/** Bad input from the user: the CLI reports it and exits with code 2. */
export class InputError extends Error {}

export interface RecordOrigin {
  file: string;
  line: number;
}

export interface InputSource {
  name: string;
  open: () => Readable;
}

const RECORD_FILE = /\.(json|ndjson|jsonl)$/i;

/** Files named on the command line; a directory stands for its .json, .ndjson and .jsonl files, in name order. */
export async function inputSources(paths: readonly string[], stdin: Readable): Promise<InputSource[]> {
  if (paths.length === 0) return [{ name: "<stdin>", open: () => stdin }];
  const sources: InputSource[] = [];
  for (const path of paths) {
    if (path === "-") {
      sources.push({ name: "<stdin>", open: () => stdin });
      continue;
    }
    const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new InputError(`${path}: cannot read (${e.code ?? e.message})`);
    });
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => RECORD_FILE.test(n)).sort();
      if (names.length === 0) throw new InputError(`${path}: the directory has no .json, .ndjson or .jsonl files`);
      for (const n of names) sources.push(fileSource(join(path, n)));
    } else {
      sources.push(fileSource(path));
    }
  }
  return sources;
}

function fileSource(path: string): InputSource {
  return { name: path, open: () => createReadStream(path, { encoding: "utf8" }) };
}

/**
 * Records from NDJSON (streamed line by line), a JSON array, or an ARM list body `{ "value": [...] }`.
 * A file whose first line is not a whole JSON object is read as one JSON document.
 */
export async function* readRecords(sources: readonly InputSource[]): AsyncGenerator<{ record: unknown; origin: RecordOrigin }> {
  for (const source of sources) {
    const stream = source.open();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let lineNo = 0;
    let documentMode = false;
    let documentStart = 0;
    const documentLines: string[] = [];
    try {
      for await (const raw of lines) {
        lineNo++;
        const line = lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw;
        if (documentMode) {
          documentLines.push(line);
          continue;
        }
        const text = line.trim();
        if (text === "") continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          if (documentStart === 0 && (text.startsWith("[") || text.startsWith("{"))) {
            documentMode = true;
            documentStart = lineNo;
            documentLines.push(line);
            continue;
          }
          throw new InputError(`${source.name}:${lineNo}: invalid JSON: ${jsonErrorMessage(e)}`);
        }
        documentStart = -1; // NDJSON from here on
        for (const record of expand(parsed)) yield { record, origin: { file: source.name, line: lineNo } };
      }
    } catch (e) {
      if (e instanceof InputError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new InputError(`${source.name}: cannot read (${err.code ?? err.message})`);
    } finally {
      lines.close();
      if (stream !== process.stdin) stream.destroy();
    }
    if (documentMode) {
      const text = documentLines.join("\n");
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        const at = positionOf(e, text);
        const line = at === undefined ? documentStart : documentStart + at.line - 1;
        throw new InputError(`${source.name}:${line}: invalid JSON: ${jsonErrorMessage(e)}`);
      }
      for (const record of expand(parsed)) yield { record, origin: { file: source.name, line: documentStart } };
    }
  }
}

function expand(parsed: unknown): unknown[] {
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed === "object" && parsed !== null && Array.isArray((parsed as Record<string, unknown>)["value"]) && !("type" in parsed)) {
    return (parsed as { value: unknown[] }).value;
  }
  return [parsed];
}

function jsonErrorMessage(e: unknown): string {
  return e instanceof Error ? e.message.replace(/\s*\(line \d+ column \d+\)$/, "") : String(e);
}

/** Line and column of a JSON.parse error, from the position V8 reports. */
export function positionOf(e: unknown, text: string): { line: number; column: number } | undefined {
  const m = e instanceof Error ? /at position (\d+)/.exec(e.message) : null;
  if (!m) return undefined;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  return { line, column: pos - before.lastIndexOf("\n") };
}
