import { once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import { createGzip } from "node:zlib";
import { z } from "zod";
import { CompressedLines, decodeIdLines, ExportEntries, type IdSource } from "../change/entries.js";
import { GunzipReader } from "./gunzip-reader.js";
import { readLegacyState } from "./legacy.js";
import { subscriptionLedgerSchema, type ExportState, type StateToSave } from "./store.js";

/**
 * Version 4, gzipped: this header as one JSON line, then `count` hashes and `count` fingerprints (float64,
 * little-endian; NaN where a score had none), then the ids as front-coded lines (see frontCodedLine). A
 * pass reads only the header and the numbers; the ids stay compressed until a removal or a save.
 */
const headerSchema = z.object({
  version: z.literal(4),
  updatedAt: z.string(),
  snapshotAt: z.string().optional(),
  generation: z.string().optional(),
  subscriptions: subscriptionLedgerSchema.optional(),
  count: z.number().int().nonnegative(),
});

/** A state written as version 4; `stored()` once it is stored makes its ids the entries' own (nothing held twice). */
export interface EncodedState {
  body: Buffer;
  stored(): void;
}

export async function encodeState(state: StateToSave, now: Date): Promise<EncodedState> {
  const count = state.entries.size;
  const header = `${JSON.stringify({
    version: 4,
    updatedAt: now.toISOString(),
    ...(state.snapshotAt ? { snapshotAt: state.snapshotAt } : {}),
    ...(state.generation ? { generation: state.generation } : {}),
    ...(state.subscriptions ? { subscriptions: state.subscriptions } : {}),
    count,
  })}\n`;
  // Streamed through gzip: the state is never held whole as text. The ids are gzip members of their own after
  // the header and numbers (one gzip stream, read as one), so that the next save can copy the stored ids'
  // compressed bytes as they are and compress only the ids added since.
  // The fastest level: a state of random hashes compresses about as well at 1 as at 6 (1% larger for 200,000
  // findings), for a third less work at each checkpoint.
  const compressed: Buffer[] = [];
  let zip = member(compressed);
  let idsAt: number | undefined;
  let pieces = 0;
  await zip.write(header);
  for await (const piece of state.entries.encode()) {
    if (piece instanceof CompressedLines) {
      await zip.end();
      compressed.push(piece.bytes);
      zip = member(compressed);
      continue;
    }
    await zip.write(piece);
    // Every hash, then every fingerprint: the ids begin.
    if (++pieces === 2) {
      await zip.end();
      idsAt = compressed.reduce((n, b) => n + b.length, 0);
      zip = member(compressed);
    }
  }
  await zip.end();
  const body = Buffer.concat(compressed);
  return { body, stored: () => state.entries.commit(new StoredIds(body, count, Buffer.byteLength(header) + 16 * count, idsAt)) };
}

/** A gzip member, its compressed bytes added to `out` as they come; `end` once it is all there. */
function member(out: Buffer[]): { write(piece: Buffer | string): Promise<void>; end(): Promise<void> } {
  const zip = createGzip({ level: 1 });
  zip.on("data", (chunk: Buffer) => out.push(chunk));
  const done = once(zip, "end");
  return {
    write: async (piece) => {
      if (!zip.write(piece)) await once(zip, "drain");
    },
    end: async () => {
      zip.end();
      await done;
    },
  };
}

/** A stored state (version 4, or 2 and 3); its ids stay compressed in `buffer`. Errors name the state as `name`. */
export async function decodeState(buffer: Buffer, name: string): Promise<Omit<ExportState, "etag">> {
  try {
    return await readState(buffer);
  } catch (e) {
    throw new Error(`the export state of ${name} ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Errors say what is wrong, after "the export state of <key>". */
async function readState(buffer: Buffer): Promise<Omit<ExportState, "etag">> {
  const reader = new GunzipReader(buffer);
  try {
    const first = await reader.line();
    if (first === undefined) return readLegacyState(await reader.text());
    let header: z.infer<typeof headerSchema>;
    try {
      header = headerSchema.parse(JSON.parse(first));
    } catch {
      throw new Error("has a header this version cannot read");
    }
    const numbers = await reader.bytes(16 * header.count);
    if (numbers === undefined) throw new Error("is cut short");
    const hashes = new Float64Array(header.count);
    const fingerprints = new Float64Array(header.count);
    for (let i = 0; i < header.count; i++) {
      hashes[i] = numbers.readDoubleLE(8 * i);
      fingerprints[i] = numbers.readDoubleLE(8 * (header.count + i));
      if (!Number.isSafeInteger(hashes[i]) || hashes[i]! < 0) throw new Error(`is not valid: hash ${i} is not a 53-bit hash`);
    }
    const ids = new StoredIds(buffer, header.count, Buffer.byteLength(first) + 1 + 16 * header.count);
    return {
      entries: ExportEntries.stored(hashes, fingerprints, ids),
      updatedAt: header.updatedAt,
      ...(header.snapshotAt ? { snapshotAt: header.snapshotAt } : {}),
      ...(header.generation ? { generation: header.generation } : {}),
      ...(header.subscriptions ? { subscriptions: header.subscriptions } : {}),
    };
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith("Z_")) throw new Error("is not gzipped", { cause: e });
    throw e;
  } finally {
    reader.close();
  }
}

/** The ids of a version 4 state, decompressed again each time they are walked. */
class StoredIds implements IdSource {
  /** `idsAt`: where the ids' own gzip members begin in `buffer`, when this version wrote them so. */
  constructor(
    readonly buffer: Buffer,
    readonly count: number,
    readonly offset: number,
    readonly idsAt?: number,
  ) {}

  compressed(): CompressedLines | undefined {
    return this.idsAt === undefined ? undefined : new CompressedLines(this.buffer.subarray(this.idsAt));
  }

  /** The id lines as stored, decompressed, not decoded. */
  async *lines(): AsyncGenerator<Buffer> {
    if (this.count === 0) return;
    const reader = new GunzipReader(this.buffer);
    try {
      if ((await reader.bytes(this.offset)) === undefined) throw new Error("the stored state is cut short");
      for (let chunk = await reader.chunk(); chunk !== undefined; chunk = await reader.chunk()) yield chunk;
    } finally {
      reader.close();
    }
  }

  async *walk(): AsyncGenerator<string> {
    if (this.count === 0) return;
    const reader = new GunzipReader(this.buffer);
    try {
      if ((await reader.bytes(this.offset)) === undefined) throw new Error("the stored state is cut short");
      const decoder = new StringDecoder("utf8");
      yield* decodeIdLines(
        (async function* () {
          for (let chunk = await reader.chunk(); chunk !== undefined; chunk = await reader.chunk()) yield decoder.write(chunk);
          yield decoder.end();
        })(),
      );
    } finally {
      reader.close();
    }
  }
}
