import { isObject, setOwn, type Json } from "./input.js";

/** Continuous export's record limit for Log Analytics: "records that are only up to 32KB in size". */
export const LOG_ANALYTICS_ROW_LIMIT = 32_768;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

export interface CutMarkers {
  /** The boolean set when anything was cut. */
  flag: string;
  /** The list of what was cut. */
  list: string;
  /** Where the whole original was kept, with its value. */
  overflow?: { key: string; value: string };
}

export type CutResult = { ok: true; value: Json; cut: string[] } | { ok: false; reason: string };

/** Something that can be made smaller: its current size, the least it may become, and how to shrink it. */
interface Slot {
  size: number;
  min: number;
  shrinkTo(budget: number): void;
}

/**
 * Shares a cut of `over` bytes among slots, largest first, by water-filling: the largest slots come down
 * to one common level, so that no field is emptied while others stay whole. Character boundaries and
 * JSON overhead can leave a few bytes over, hence the few passes. Returns the bytes still over.
 */
function level(slots: readonly Slot[], over: number, measure: () => number): number {
  let remaining = over;
  for (let pass = 0; remaining > 0 && pass < 32; pass++) {
    // A stable sort: equal sizes keep their (alphabetical or positional) order.
    const active = slots.filter((s) => s.size > s.min).sort((a, b) => b.size - a.size);
    if (active.length === 0) return remaining;
    let sum = 0;
    let count = 0;
    let target = 0;
    for (const slot of active) {
      sum += slot.size;
      count++;
      const next = active[count]?.size ?? 0;
      target = Math.floor((sum - remaining) / count);
      if (target >= next) break;
    }
    for (const slot of active.slice(0, count)) {
      const budget = Math.max(slot.min, target);
      if (budget < slot.size) slot.shrinkTo(budget);
    }
    remaining = measure();
  }
  return remaining;
}

/**
 * Shrinks an object (a row, an event) until its JSON is at most `limit` UTF-8 bytes, deterministically:
 * the largest fields that may be cut go first, brought down level with the next largest; strings are cut
 * on character boundaries; objects and arrays shrink their own largest members and stay valid JSON.
 * Protected fields are never touched; the markers say what was cut. The same input gives the same output.
 */
export function cutToFit(value: Json, limit: number, isProtected: (key: string) => boolean, markers: CutMarkers): CutResult {
  if (jsonBytes(value) <= limit) return { ok: true, value, cut: [] };
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k, v);
  const fixed = new Set([markers.flag, markers.list, markers.overflow?.key]);
  const keys = Object.keys(out)
    .filter((k) => !fixed.has(k) && !isProtected(k))
    .sort();
  const cut: string[] = [];
  setOwn(out, markers.flag, true);
  setOwn(out, markers.list, cut);
  if (markers.overflow) setOwn(out, markers.overflow.key, markers.overflow.value);
  // Reserve room for the names of every column that may be cut, so the list never pushes the row back over.
  const reserve = keys.reduce((sum, k) => sum + jsonBytes(k) + 1, 0);
  const slots: Slot[] = keys.map((key) => {
    const slot: Slot = {
      size: jsonBytes(out[key]),
      min: minimalBytes(out[key]),
      shrinkTo(budget) {
        if (!cut.includes(key)) cut.push(key);
        setOwn(out, key, shrink(out[key], budget));
        slot.size = jsonBytes(out[key]);
      },
    };
    return slot;
  });
  const overBy = () => jsonBytes(out) + reserve - jsonBytes(cut) + 2 - limit;
  level(slots, overBy(), overBy);
  cut.sort();
  const size = jsonBytes(out);
  if (size > limit) return { ok: false, reason: `cannot fit in ${limit} bytes without cutting protected fields (${size} bytes remain)` };
  return { ok: true, value: out, cut };
}

/** The smallest a value can become: "" for strings, [] or {} for containers; other values cannot shrink. */
function minimalBytes(value: unknown): number {
  return typeof value === "string" || Array.isArray(value) || isObject(value) ? 2 : jsonBytes(value);
}

/** A value whose JSON fits in `budget` bytes (or its minimal form when nothing smaller exists). */
export function shrink(value: unknown, budget: number): unknown {
  if (typeof value === "string") return truncateString(value, budget);
  if (Array.isArray(value)) return shrinkContainer(value.map((v, i) => [i, v] as const), budget, true);
  if (isObject(value)) return shrinkContainer(Object.entries(value), budget, false);
  return value;
}

// Members this small are kept whole or dropped, never shaved.
const SMALL_MEMBER = 64;

function shrinkContainer(entries: readonly (readonly [string | number, unknown])[], budget: number, isArray: boolean): unknown {
  const children = entries.map(([key, v]) => ({ key, value: v, keyBytes: isArray ? 0 : jsonBytes(String(key)) + 1, size: jsonBytes(v) }));
  const total = () => 2 + children.reduce((s, c) => s + c.keyBytes + c.size, 0) + Math.max(0, children.length - 1);
  const slots: Slot[] = children.map((child) => ({
    get size() {
      return child.size;
    },
    min: Math.min(child.size, Math.max(minimalBytes(child.value), SMALL_MEMBER)),
    shrinkTo(b: number) {
      child.value = shrink(child.value, b);
      child.size = jsonBytes(child.value);
    },
  }));
  level(slots, total() - budget, () => total() - budget);
  // Still over: drop trailing members.
  while (children.length > 0 && total() > budget) children.pop();
  if (isArray) return children.map((c) => c.value);
  const out: Json = {};
  for (const c of children) setOwn(out, String(c.key), c.value);
  return out;
}
/** The longest prefix whose JSON fits in `budget` bytes, never splitting a surrogate pair. */
export function truncateString(text: string, budget: number): string {
  if (jsonBytes(text) <= budget) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const last = text.charCodeAt(lo - 1);
  if (lo > 0 && last >= 0xd800 && last <= 0xdbff) lo--;
  return text.slice(0, lo);
}
