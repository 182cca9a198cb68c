import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { parseJson } from "../shared/json.js";

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
        const parsed = parseJson(text);
        if (!parsed.ok) {
          if (documentStart === 0 && (text.startsWith("[") || text.startsWith("{"))) {
            documentMode = true;
            documentStart = lineNo;
            documentLines.push(line);
            continue;
          }
          throw new InputError(`${source.name}:${lineNo}: invalid JSON at column ${parsed.error.column}: ${parsed.error.reason}`);
        }
        documentStart = -1; // NDJSON from here on
        for (const record of expand(parsed.value)) yield { record, origin: { file: source.name, line: lineNo } };
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
      const parsed = parseJson(documentLines.join("\n"));
      if (!parsed.ok) {
        const { line, column, reason } = parsed.error;
        throw new InputError(`${source.name}:${documentStart + line - 1}: invalid JSON at column ${column}: ${reason}`);
      }
      for (const record of expand(parsed.value)) yield { record, origin: { file: source.name, line: documentStart } };
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
