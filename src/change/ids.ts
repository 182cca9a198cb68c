/**
 * A 53-bit hash of a record's id, folding ASCII case as it goes (ARM ids vary in case between calls): the
 * key of the fingerprints, so that a pass neither lower-cases nor compares 200-character ids per record.
 * cyrb53, public domain; two different ids share a hash with a chance of about n²/2^54 (1 in 18 million
 * for a million records), which would at worst hide one change.
 */
export function idHash(id: string): number {
  let h1 = 0xdeadbeef ^ 0x5f3759df;
  let h2 = 0x41c6ce57 ^ 0x5f3759df;
  // Two UTF-16 units a step: half the multiplications of one a step, for ids of 200 characters and more.
  const length = id.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    const unit = fold(id, i) | (fold(id, i + 1) << 16);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  if (i < length) {
    const unit = fold(id, i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The UTF-16 unit at `i`, lower-cased (ASCII directly; anything else through toLowerCase). */
function fold(id: string, i: number): number {
  const ch = id.charCodeAt(i);
  if (ch < 128) return ch >= 65 && ch <= 90 ? ch + 32 : ch;
  return id[i]!.toLowerCase().charCodeAt(0);
}

/**
 * Sorted ids as front coding: for each id, how many leading characters it shares with the one before and
 * the rest. ARM ids share long prefixes, so the state is a fifth of the text to gunzip and parse.
 */
export interface FrontCodedIds {
  shared: readonly number[];
  suffixes: readonly string[];
}

export function frontCode(sortedIds: readonly string[]): FrontCodedIds {
  const shared: number[] = [];
  const suffixes: string[] = [];
  let previous = "";
  for (const id of sortedIds) {
    const most = Math.min(previous.length, id.length);
    let k = 0;
    while (k < most && previous.charCodeAt(k) === id.charCodeAt(k)) k++;
    shared.push(k);
    suffixes.push(id.slice(k));
    previous = id;
  }
  return { shared, suffixes };
}

export function frontDecode({ shared, suffixes }: FrontCodedIds): string[] {
  const ids: string[] = new Array<string>(suffixes.length);
  let previous = "";
  for (let i = 0; i < suffixes.length; i++) {
    const k = shared[i]!;
    if (!Number.isInteger(k) || k < 0 || k > previous.length) throw new Error(`front-coded id ${i} shares ${k} characters with an id of ${previous.length}`);
    previous = previous.slice(0, k) + suffixes[i]!;
    ids[i] = previous;
  }
  return ids;
}

/**
 * The ids behind the hashes: those loaded with the state and those a pass added. Only removals and saving
 * need them, so the per-record path never touches a string here, and loaded ids are decoded only when one
 * is needed: an unchanged pass never builds them.
 */
export class IdBook {
  #ids: readonly string[] | undefined;
  readonly #decode: (() => readonly string[]) | undefined;
  readonly #hashes: readonly number[];
  // Parallel arrays, not a Map: a baseline adds every record's id, and a Map entry costs more than the id's pointer.
  readonly #addedHashes: number[] = [];
  readonly #addedIds: string[] = [];

  /** `ids`: the ids, or how to decode them when first needed (then `hashes` must be given). */
  constructor(ids: readonly string[] | (() => readonly string[]) = [], hashes?: readonly number[]) {
    if (typeof ids === "function") {
      if (hashes === undefined) throw new Error("lazily decoded ids need their hashes");
      this.#decode = ids;
    } else this.#ids = ids;
    this.#hashes = hashes ?? (ids as readonly string[]).map(idHash);
  }

  static frontCoded(coded: FrontCodedIds, hashes: readonly number[]): IdBook {
    return new IdBook(() => frontDecode(coded), hashes);
  }

  add(hash: number, id: string): void {
    this.#addedHashes.push(hash);
    this.#addedIds.push(id);
  }

  #loaded(): readonly string[] {
    this.#ids ??= this.#decode!();
    if (this.#ids.length !== this.#hashes.length) throw new Error(`${this.#ids.length} ids for ${this.#hashes.length} hashes`);
    return this.#ids;
  }

  /** Every (hash, id), loaded then added, without a tuple each. */
  forEach(visit: (hash: number, id: string) => void): void {
    const ids = this.#loaded();
    for (let i = 0; i < ids.length; i++) visit(this.#hashes[i]!, ids[i]!);
    for (let i = 0; i < this.#addedIds.length; i++) visit(this.#addedHashes[i]!, this.#addedIds[i]!);
  }

  /**
   * The ids whose (hash) `take` answers true for, asked once per pair in order: removals ask it of every
   * id on every pass, so ids are decoded only if one is taken.
   */
  select(take: (hash: number) => boolean): string[] {
    const hashes = this.#hashes;
    const taken: number[] = [];
    for (let i = 0; i < hashes.length; i++) if (take(hashes[i]!)) taken.push(i);
    const ids = taken.length > 0 ? this.#loaded() : [];
    const selected = taken.map((i) => ids[i]!);
    for (let i = 0; i < this.#addedIds.length; i++) if (take(this.#addedHashes[i]!)) selected.push(this.#addedIds[i]!);
    return selected;
  }
}
