// cyrb53 (bryc, public domain): a fast non-cryptographic hash of 53 bits, exact in a double. Callers feed
// `h1 = Math.imul(h1 ^ unit, CYRB53_A)` and `h2 = Math.imul(h2 ^ unit, CYRB53_B)` per unit, in their own loop (the
// hot paths hash ids two units a step), and finish here.

export const CYRB53_SEED1 = 0xdeadbeef;
export const CYRB53_SEED2 = 0x41c6ce57;
export const CYRB53_A = 2654435761;
export const CYRB53_B = 1597334677;

export function cyrb53Finish(h1: number, h2: number): number {
  const f1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const f2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(f1 ^ (f1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & f2) + (f1 >>> 0);
}
