/**
 * The ids of a stored state, in the order they were written, read again only when a removal or a save
 * needs them: a state keeps them compressed rather than as strings.
 */
export interface IdSource {
  readonly count: number;
  walk(): AsyncIterable<string>;
  /** The ids' front-coded lines as they are stored (UTF-8), when the source keeps them so: copied as they are by a save that keeps every id. */
  lines?(): AsyncIterable<Buffer>;
  /** The same lines as whole gzip members, when the source has them so: copied without being decompressed. */
  compressed?(): CompressedLines | undefined;
}

/** Id lines as gzip members, written as they are. */
export class CompressedLines {
  constructor(readonly bytes: Buffer) {}
}

const EMPTY = 0;
const TOMBSTONE = -1;
const MAX_LOAD = 0.7;
// Ids added in a pass are kept as front-coded lines, joined into one flat string this many at a time.
const LINES_PER_CHUNK = 1024;

/**
 * The fingerprints last exported, by id hash, and the ids behind them, in memory that does not hold a
 * string or a boxed number per record: an open-addressing table over typed arrays (hash, fingerprint,
 * where the id is, whether this pass saw it), the stored ids as their compressed state, and the ids a
 * pass adds as front-coded text: 21 bytes a slot, 30 to 60 a record, where Maps and id strings took about 350.
 */
/** What becomes of a record a complete pass did not see: exported as removed, kept as it was, or dropped unsent. */
export type UnseenVerdict = "remove" | "keep" | "forget";

export class ExportEntries {
  // Hash + 1 (so that 0 is an empty slot), or TOMBSTONE.
  #keys: Float64Array;
  #fingerprints: Float64Array;
  // Where the slot's id is: < stored.count in the stored ids, else in the added ones.
  #refs: Int32Array;
  #seen: Uint8Array;
  #mask: number;
  #size = 0;
  #used = 0;
  #stored: IdSource;
  #added = new AddedIds();
  // Each slot's place in what `encode` last wrote, for `commit`.
  #renumbered: Int32Array | undefined;

  constructor(stored: IdSource = NO_IDS, capacity = 0) {
    let slots = 16;
    while (slots * MAX_LOAD < capacity + 1) slots *= 2;
    this.#keys = new Float64Array(slots);
    this.#fingerprints = new Float64Array(slots);
    this.#refs = new Int32Array(slots);
    this.#seen = new Uint8Array(slots);
    this.#mask = slots - 1;
    this.#stored = stored;
  }

  /** A stored state: `hashes[i]` and `fingerprints[i]` belong to the `i`th id of `ids`. */
  static stored(hashes: ArrayLike<number>, fingerprints: ArrayLike<number>, ids: IdSource): ExportEntries {
    if (hashes.length !== ids.count || fingerprints.length !== ids.count) throw new Error(`${ids.count} ids for ${hashes.length} hashes and ${fingerprints.length} fingerprints`);
    const entries = new ExportEntries(ids, hashes.length);
    for (let i = 0; i < hashes.length; i++) entries.#insert(hashes[i]!, fingerprints[i]!, i, 0);
    return entries;
  }

  /** Ids with their hashes and fingerprints, as an older state held them whole. */
  static fromIds(ids: readonly string[], hashes: readonly number[], fingerprints: readonly number[]): ExportEntries {
    const entries = new ExportEntries(NO_IDS, ids.length);
    for (let i = 0; i < ids.length; i++) entries.#append(hashes[i]!, ids[i]!, fingerprints[i]!, 0);
    return entries;
  }

  get size(): number {
    return this.#size;
  }

  /** The slot of a hash, or -1. Valid until the next `add`. */
  find(hash: number): number {
    const key = hash + 1;
    const keys = this.#keys;
    for (let i = slotOf(hash, this.#mask); ; i = (i + 1) & this.#mask) {
      const k = keys[i]!;
      if (k === key) return i;
      if (k === EMPTY) return -1;
    }
  }

  get(hash: number): number | undefined {
    const slot = this.find(hash);
    return slot < 0 ? undefined : this.#fingerprints[slot];
  }

  fingerprintAt(slot: number): number {
    return this.#fingerprints[slot]!;
  }

  setAt(slot: number, fingerprint: number): void {
    this.#fingerprints[slot] = fingerprint;
  }

  seeAt(slot: number): void {
    this.#seen[slot] = 1;
  }

  /** A record not held yet, seen by this pass. */
  add(hash: number, id: string, fingerprint: number): void {
    const slot = this.find(hash);
    if (slot >= 0) {
      this.#fingerprints[slot] = fingerprint;
      this.#seen[slot] = 1;
    } else this.#append(hash, id, fingerprint, 1);
  }

  delete(hash: number): boolean {
    const slot = this.find(hash);
    if (slot >= 0) this.deleteAt(slot);
    return slot >= 0;
  }

  deleteAt(slot: number): void {
    this.#keys[slot] = TOMBSTONE;
    this.#size--;
  }

  /** Whether this pass (or the stopped one it goes on from) has seen the hash. */
  seen(hash: number): boolean {
    const slot = this.find(hash);
    return slot >= 0 && this.#seen[slot] === 1;
  }

  /** Marks hashes as seen by this pass (a resumed pass: what the stopped one had seen). */
  markSeen(hashes: Iterable<number>): void {
    for (const hash of hashes) {
      const slot = this.find(hash);
      if (slot >= 0) this.#seen[slot] = 1;
    }
  }

  /** The hashes held that this pass saw. */
  seenHashes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i]! > 0 && this.#seen[i] === 1) out.push(this.#keys[i]! - 1);
    return out;
  }

  /**
   * What this pass did not see, by `verdict` (default: remove): removed ones are taken out and their ids returned
   * in the order held, forgotten ones taken out silently, kept ones left. The ids are read only if there is one.
   */
  async takeUnseen(verdict?: (id: string) => UnseenVerdict): Promise<string[]> {
    const { slotOfRef, count } = this.#slotsByRef((slot) => this.#seen[slot] === 0);
    if (count === 0) return [];
    const ids: string[] = [];
    let ref = 0;
    for await (const id of this.#walk()) {
      const slot = slotOfRef[ref++]!;
      if (slot < 0) continue;
      const v = verdict?.(id) ?? "remove";
      if (v === "keep") continue;
      if (v === "remove") ids.push(id);
      this.deleteAt(slot);
    }
    return ids;
  }

  /**
   * What a save writes, in the order held: every hash (float64, little-endian), every fingerprint, then
   * every id as a front-coded line (or, where the stored ids are kept as gzip members, those members as
   * they are, then the lines added). `commit` makes the written ids the stored ones once they are stored.
   */
  async *encode(): AsyncGenerator<Buffer | string | CompressedLines> {
    const { slotOfRef } = this.#slotsByRef(() => true);
    // Every id held, none removed or replaced (each slot's own ref, every ref a slot's): the ids are written as
    // the lines they already are, stored and added, without decoding and front-coding each again. A line
    // front-coded against nothing (the first added) reads the same after any other.
    const keepsEveryId = this.#size === slotOfRef.length && this.#stored.lines !== undefined;
    const total = slotOfRef.length;
    const hashes = Buffer.allocUnsafe(this.#size * 8);
    const fingerprints = Buffer.allocUnsafe(this.#size * 8);
    let n = 0;
    for (let ref = 0; ref < total; ref++) {
      const slot = slotOfRef[ref]!;
      if (slot < 0) continue;
      hashes.writeDoubleLE(this.#keys[slot]! - 1, n * 8);
      fingerprints.writeDoubleLE(this.#fingerprints[slot]!, n * 8);
      n++;
    }
    yield hashes;
    yield fingerprints;
    if (keepsEveryId) {
      const compressed = this.#stored.compressed?.();
      if (compressed !== undefined) yield compressed;
      else for await (const chunk of this.#stored.lines!()) yield chunk;
      yield* this.#added.lines();
      // Each id stays where it was: its ref is its place in what was written.
      this.#renumbered = this.#refs.slice();
      return;
    }
    const lines: string[] = [];
    let previous = "";
    let ref = 0;
    let written = 0;
    const renumbered = new Int32Array(this.#refs.length);
    for await (const id of this.#walk()) {
      const slot = slotOfRef[ref++]!;
      if (slot < 0) continue;
      renumbered[slot] = written++;
      lines.push(frontCodedLine(previous, id));
      previous = id;
      if (lines.length >= LINES_PER_CHUNK) yield lines.splice(0).join("");
    }
    if (lines.length > 0) yield lines.join("");
    if (written !== this.#size) throw new Error(`the state holds ${this.#size} entries but ${written} ids`);
    this.#renumbered = renumbered;
  }

  /** After a save of `encode`'s output: its ids are the stored ones, and nothing is held twice. */
  commit(stored: IdSource): void {
    const renumbered = this.#renumbered;
    if (renumbered === undefined) throw new Error("commit without encode");
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i]! > 0) this.#refs[i] = renumbered[i]!;
    this.#renumbered = undefined;
    this.#stored = stored;
    this.#added = new AddedIds();
  }

  /** Every (hash, fingerprint, id) held, in order (tests, tools). */
  async *pairs(): AsyncGenerator<[number, number, string]> {
    const { slotOfRef } = this.#slotsByRef(() => true);
    let ref = 0;
    for await (const id of this.#walk()) {
      const slot = slotOfRef[ref++]!;
      if (slot >= 0) yield [this.#keys[slot]! - 1, this.#fingerprints[slot]!, id];
    }
  }

  /** For each id in walk order, the slot of the held entry it belongs to if `take` wants that slot, else -1. */
  #slotsByRef(take: (slot: number) => boolean): { slotOfRef: Int32Array; count: number } {
    const slotOfRef = new Int32Array(this.#stored.count + this.#added.count).fill(-1);
    let count = 0;
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#keys[i]! > 0 && take(i)) {
        slotOfRef[this.#refs[i]!] = i;
        count++;
      }
    }
    return { slotOfRef, count };
  }

  async *#walk(): AsyncGenerator<string> {
    let count = 0;
    for await (const id of this.#stored.walk()) {
      count++;
      yield id;
    }
    if (count !== this.#stored.count) throw new Error(`the stored state has ${count} ids, ${this.#stored.count} expected`);
    yield* this.#added.walk();
  }

  #append(hash: number, id: string, fingerprint: number, seen: number): void {
    this.#insert(hash, fingerprint, this.#stored.count + this.#added.count, seen);
    this.#added.push(id);
  }

  #insert(hash: number, fingerprint: number, ref: number, seen: number): void {
    if (this.#used + 1 > this.#keys.length * MAX_LOAD) this.#rehash();
    const key = hash + 1;
    let i = slotOf(hash, this.#mask);
    for (; this.#keys[i] !== EMPTY; i = (i + 1) & this.#mask) {
      if (this.#keys[i] === key) {
        // The same id twice in a stored state: the later one wins, as a Map would have it.
        this.#fingerprints[i] = fingerprint;
        this.#refs[i] = ref;
        return;
      }
    }
    this.#keys[i] = key;
    this.#fingerprints[i] = fingerprint;
    this.#refs[i] = ref;
    this.#seen[i] = seen;
    this.#size++;
    this.#used++;
  }

  #rehash(): void {
    const keys = this.#keys;
    const fingerprints = this.#fingerprints;
    const refs = this.#refs;
    const seen = this.#seen;
    let slots = keys.length;
    // Tombstones alone are cleared in place; a full table doubles.
    if (this.#size + 1 > slots * MAX_LOAD * 0.5) slots *= 2;
    this.#keys = new Float64Array(slots);
    this.#fingerprints = new Float64Array(slots);
    this.#refs = new Int32Array(slots);
    this.#seen = new Uint8Array(slots);
    this.#mask = slots - 1;
    this.#size = 0;
    this.#used = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i]! > 0) this.#insert(keys[i]! - 1, fingerprints[i]!, refs[i]!, seen[i]!);
  }
}

function slotOf(hash: number, mask: number): number {
  // The low 32 bits of a cyrb53 hash are well mixed already.
  return (hash >>> 0) & mask;
}

const NO_IDS: IdSource = {
  count: 0,
  walk: async function* () {},
  lines: async function* () {},
};

/** Ids added by a pass, front-coded against the one before, as lines in flat strings. */
class AddedIds {
  count = 0;
  #chunks: string[] = [];
  #lines: string[] = [];
  #previous = "";

  push(id: string): void {
    this.#lines.push(frontCodedLine(this.#previous, id));
    this.#previous = id;
    this.count++;
    if (this.#lines.length >= LINES_PER_CHUNK) this.#chunks.push(this.#lines.splice(0).join(""));
  }

  async *walk(): AsyncGenerator<string> {
    yield* decodeIdLines(this.lines());
  }

  /** The front-coded lines, the first against no id before it. */
  *lines(): Generator<string> {
    yield* this.#chunks;
    yield this.#lines.join("");
  }
}

/**
 * One id as `<shared> <suffix>\n`: how many leading UTF-16 units it shares with the id before, and the
 * rest, with backslashes and line breaks escaped. A surrogate pair is never split between the two.
 */
export function frontCodedLine(previous: string, id: string): string {
  const most = Math.min(previous.length, id.length);
  let k = 0;
  while (k < most && previous.charCodeAt(k) === id.charCodeAt(k)) k++;
  if (k > 0 && isHighSurrogate(id.charCodeAt(k - 1))) k--;
  let suffix = id.slice(k);
  if (/[\\\n\r]/.test(suffix)) suffix = suffix.replace(/[\\\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : "\\r"));
  return `${k} ${suffix}\n`;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** The ids of front-coded lines, from text chunks that may split lines anywhere. */
export async function* decodeIdLines(chunks: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
  let carry = "";
  let previous = "";
  let line = 0;
  for await (const chunk of chunks) {
    const text = carry === "" ? chunk : carry + chunk;
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
      const space = text.indexOf(" ", start);
      const shared = space >= 0 && space < end ? Number(text.slice(start, space)) : Number.NaN;
      if (!Number.isInteger(shared) || shared < 0 || shared > previous.length) throw new Error(`id line ${line + 1} is not front-coded against an id of ${previous.length} characters`);
      let suffix = text.slice(space + 1, end);
      if (suffix.includes("\\")) suffix = suffix.replace(/\\([\\nr])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : "\\"));
      previous = previous.slice(0, shared) + suffix;
      line++;
      yield previous;
      start = end + 1;
    }
    carry = text.slice(start);
  }
  if (carry !== "") throw new Error(`id line ${line + 1} is cut short`);
}
