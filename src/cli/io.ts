import { once } from "node:events";
import { readFile, stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { redactSecretsInText } from "../config/secret.js";
import { parseJson } from "../shared/json.js";
import { InputError } from "./input.js";

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** Writes with backpressure; false when the reader went away (EPIPE) or the stream failed, so the caller can stop. */
export async function writeOut(stream: Writable, text: string): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return false;
  try {
    // events.once rejects on "error" whichever event it waits for; main() reports non-EPIPE errors.
    if (!stream.write(text)) await Promise.race([once(stream, "drain"), once(stream, "close")]);
  } catch {
    return false;
  }
  return !stream.destroyed;
}

export function writeErr(io: CliIo, text: string): void {
  io.stderr.write(`${redactSecretsInText(text)}\n`);
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads a JSON configuration file (or stdin for "-"). Parse errors name the line and column, never quote the text. */
export async function readJsonDocument(path: string, io: CliIo): Promise<unknown> {
  let text: string;
  if (path === "-") {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of io.stdin) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      size += buf.length;
      if (size > MAX_CONFIG_BYTES) throw new InputError(`<stdin>: larger than ${MAX_CONFIG_BYTES} bytes; a configuration is far smaller`);
      chunks.push(buf);
    }
    text = Buffer.concat(chunks).toString("utf8");
  } else {
    const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new InputError(`${path}: cannot read (${e.code ?? e.message})`);
    });
    if (info.isDirectory()) throw new InputError(`${path}: is a directory; expected a JSON file`);
    if (info.size > MAX_CONFIG_BYTES) throw new InputError(`${path}: larger than ${MAX_CONFIG_BYTES} bytes; a configuration is far smaller`);
    text = await readFile(path, "utf8");
  }
  text = text.replace(/^\uFEFF/, "");
  const parsed = parseJson(text);
  if (parsed.ok) return parsed.value;
  const name = path === "-" ? "<stdin>" : path;
  if (text.trim() === "") throw new InputError(`${name}: empty; expected a JSON object`);
  throw new InputError(`${name}:${parsed.error.line}:${parsed.error.column}: invalid JSON: ${parsed.error.reason}`);
}
