import { CYRB53_A, CYRB53_B, CYRB53_SEED1, CYRB53_SEED2, cyrb53Finish } from "../shared/cyrb53.js";

/**
 * A 53-bit hash of a record's id, folding ASCII case as it goes (ARM ids vary in case between calls): the
 * key of the fingerprints, so that a pass neither lower-cases nor compares 200-character ids per record.
 * cyrb53, public domain; two different ids share a hash with a chance of about n²/2^54 (1 in 18 million
 * for a million records), which would at worst hide one change.
 */
export function idHash(id: string): number {
  let h1 = CYRB53_SEED1 ^ ID_SEED;
  let h2 = CYRB53_SEED2 ^ ID_SEED;
  // Two UTF-16 units a step: half the multiplications of one a step, for ids of 200 characters and more.
  const length = id.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    const unit = fold(id, i) | (fold(id, i + 1) << 16);
    h1 = Math.imul(h1 ^ unit, CYRB53_A);
    h2 = Math.imul(h2 ^ unit, CYRB53_B);
  }
  if (i < length) {
    const unit = fold(id, i);
    h1 = Math.imul(h1 ^ unit, CYRB53_A);
    h2 = Math.imul(h2 ^ unit, CYRB53_B);
  }
  return cyrb53Finish(h1, h2);
}

// The seed that the stored states' id hashes were made with: changing it would make every id look new.
const ID_SEED = 0x5f3759df;

/** The UTF-16 unit at `i`, lower-cased (ASCII directly; anything else through toLowerCase). */
function fold(id: string, i: number): number {
  const ch = id.charCodeAt(i);
  if (ch < 128) return ch >= 65 && ch <= 90 ? ch + 32 : ch;
  return id[i]!.toLowerCase().charCodeAt(0);
}

/** Version 3 states front-coded sorted ids as two arrays: characters shared with the id before, and the rest. */
export interface FrontCodedIds {
  shared: readonly number[];
  suffixes: readonly string[];
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
