import { setOwn, type Json } from "../records/record.js";
import { isObject } from "../shared/object.js";

/** Continuous export's record limit for Log Analytics: "records that are only up to 32KB in size". */
export const LOG_ANALYTICS_ROW_LIMIT = 32_768;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

/** Whether JSON text is at most `limit` UTF-8 bytes. A UTF-16 unit is at most 3 bytes: most need no byte count. */
export function fitsIn(json: string, limit: number): boolean {
  return json.length * 3 <= limit || (json.length <= limit && Buffer.byteLength(json, "utf8") <= limit);
}

export interface CutMarkers {
  /** The boolean set when anything was cut. */
  flag: string;
  /** The list of what was cut. */
  list: string;
  /** Where the whole original was kept, with its value. */
  overflow?: { key: string; value: string };
}

/** What a value that fits had cut: one shared, empty and frozen list. */
export const NOTHING_CUT: string[] = Object.freeze([]) as unknown as string[];

/** `json` is the value's JSON text, as measured: callers send it without serializing again. */
export type CutResult = { ok: true; value: Json; cut: string[]; json: string } | { ok: false; reason: string };

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
 * The first pass cuts every slot over the whole limit, to a level set by the other slots alone (the cut taken
 * from a set of slots is their sum less the level they come to): such a slot's size may be any figure over the limit
 * until then.
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
 * `markers` may be a function, called only when the value is over (most are not): naming an overflow blob
 * may cost a hash, and a value that fits then makes no markers at all.
 */
export function cutToFit(value: Json, limit: number, isProtected: (key: string) => boolean, markersOrMake: CutMarkers | (() => CutMarkers)): CutResult {
  // A value whose strings alone are over (each character is a byte at least) is not serialized whole first.
  if (!stringsOver(value, limit)) {
    const whole = JSON.stringify(value);
    if (fitsIn(whole, limit)) return { ok: true, value, cut: NOTHING_CUT, json: whole };
  }
  const markers = typeof markersOrMake === "function" ? markersOrMake() : markersOrMake;
  // Each member's JSON and size once: from here sizes are kept by arithmetic, and the cut JSON is put
  // together from the members' JSON, serializing again only what was cut.
  const out: Json = {};
  const fixed = new Set([markers.flag, markers.list, markers.overflow?.key]);
  // A member's JSON is forgotten once it is cut (its size is still kept). `sized`: whether `bytes` is its size.
  const members = new Map<string, { json: string | undefined; bytes: number; sized: boolean }>();
  let wholeBytes = 1;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    setOwn(out, k, v);
    let member;
    if (typeof v === "string" && v.length > limit && !fixed.has(k) && !isProtected(k)) {
      // Longer than the limit: certainly cut, in the leveller's first pass, to a size its own does not enter into
      // (see level), so neither its JSON nor its size is ever made. Any size over the limit stands in for it.
      member = { json: undefined, bytes: v.length + 2, sized: false };
    } else {
      const json = JSON.stringify(v);
      member = { json, bytes: Buffer.byteLength(json, "utf8"), sized: true };
    }
    members.set(k, member);
    wholeBytes += jsonBytes(k) + 2 + member.bytes;
  }
  const keys = [...members.keys()].filter((k) => !fixed.has(k) && !isProtected(k)).sort();
  const cut: string[] = [];
  setOwn(out, markers.flag, true);
  setOwn(out, markers.list, cut);
  if (markers.overflow) setOwn(out, markers.overflow.key, markers.overflow.value);
  // The list of cut columns is counted as if every column that may be cut were in it, so that it never
  // pushes the row back over.
  let size = wholeBytes + markerBytes(markers) + keys.reduce((sum, k) => sum + jsonBytes(k) + 1, 0);
  const slots: Slot[] = keys.map((key) => {
    const member = members.get(key)!;
    const slot: Slot = {
      size: member.bytes,
      min: isShrinkable(out[key]) ? 2 : member.bytes,
      shrinkTo(budget) {
        if (!cut.includes(key)) cut.push(key);
        const shrunk = shrinkSized(out[key], budget);
        setOwn(out, key, shrunk.value);
        size -= slot.size - shrunk.bytes;
        slot.size = shrunk.bytes;
        member.json = shrunk.json;
        member.bytes = shrunk.bytes;
        member.sized = true;
      },
    };
    return slot;
  });
  level(slots, size - limit, () => size - limit);
  cut.sort();
  // Each member with the comma or brace before it, and the closing brace: one join makes the JSON a flat string
  // (a concatenation would be copied once more where it is written).
  const parts: string[] = [];
  let bytes = 1;
  for (const key of Object.keys(out)) {
    const member = fixed.has(key) ? undefined : members.get(key);
    const json = member?.json ?? JSON.stringify(out[key]);
    if (json === undefined) continue;
    const keyJson = JSON.stringify(key);
    parts.push(`${parts.length === 0 ? "{" : ","}${keyJson}:${json}`);
    bytes += Buffer.byteLength(keyJson, "utf8") + 2 + (member?.sized ? member.bytes : Buffer.byteLength(json, "utf8"));
  }
  if (bytes > limit) return { ok: false, reason: `cannot fit in ${limit} bytes without cutting protected fields (${bytes} bytes remain)` };
  parts.push(parts.length === 0 ? "{}" : "}");
  return { ok: true, value: out, cut, json: parts.join("") };
}

/** Whether a value's own string members are longer than `limit` in all: its JSON is then over. */
function stringsOver(value: Json, limit: number): boolean {
  let length = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = value[key];
    if (typeof v === "string") length += v.length;
  }
  return length > limit;
}

/** What the markers add to a row: `,"flag":true,"list":[],"overflow":"..."`. */
function markerBytes(markers: CutMarkers): number {
  let bytes = jsonBytes(markers.flag) + 6 + jsonBytes(markers.list) + 4;
  if (markers.overflow) bytes += jsonBytes(markers.overflow.key) + 2 + jsonBytes(markers.overflow.value);
  return bytes;
}

/** Strings, arrays and objects can shrink, to "", [] or {}; other values cannot. */
function isShrinkable(value: unknown): boolean {
  return typeof value === "string" || Array.isArray(value) || isObject(value);
}

/** The smallest a value can become. */
function minimalBytes(value: unknown): number {
  return isShrinkable(value) ? 2 : jsonBytes(value);
}

/** A value whose JSON fits in `budget` bytes (or its minimal form when nothing smaller exists). */
export function shrink(value: unknown, budget: number): unknown {
  return shrinkSized(value, budget).value;
}

/** `json`: the value's JSON when it came for nothing (a string cut with nothing to escape). */
function shrinkSized(value: unknown, budget: number): { value: unknown; bytes: number; json?: string } {
  if (typeof value === "string") return truncateSized(value, budget);
  if (Array.isArray(value))
    return shrinkContainer(
      value.map((v, i) => [i, v] as const),
      budget,
      true,
    );
  if (isObject(value)) return shrinkContainer(Object.entries(value), budget, false);
  return { value, bytes: jsonBytes(value) };
}

// Members this small are kept whole or dropped, never shaved.
const SMALL_MEMBER = 64;

function shrinkContainer(entries: readonly (readonly [string | number, unknown])[], budget: number, isArray: boolean): { value: unknown; bytes: number } {
  const children = entries.map(([key, v]) => ({ key, value: v, keyBytes: isArray ? 0 : jsonBytes(String(key)) + 1, size: jsonBytes(v) }));
  const total = () => 2 + children.reduce((s, c) => s + c.keyBytes + c.size, 0) + Math.max(0, children.length - 1);
  const slots: Slot[] = children.map((child) => ({
    get size() {
      return child.size;
    },
    min: Math.min(child.size, Math.max(minimalBytes(child.value), SMALL_MEMBER)),
    shrinkTo(b: number) {
      const shrunk = shrinkSized(child.value, b);
      child.value = shrunk.value;
      child.size = shrunk.bytes;
    },
  }));
  level(slots, total() - budget, () => total() - budget);
  // Still over: drop trailing members.
  while (children.length > 0 && total() > budget) children.pop();
  const bytes = total();
  if (isArray) return { value: children.map((c) => c.value), bytes };
  const out: Json = {};
  for (const c of children) setOwn(out, String(c.key), c.value);
  return { value: out, bytes };
}

/** The UTF-8 bytes of a UTF-16 unit once JSON.stringify has escaped it (a surrogate pair counts 2 + 2). */
function escapedBytes(code: number): number {
  if (code < 0x80) {
    if (code === 0x22 || code === 0x5c) return 2; // \" and \\
    if (code < 0x20) return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6;
    return 1;
  }
  return code < 0x800 ? 2 : 3;
}

/**
 * The longest prefix whose JSON fits in `budget` bytes, and its size; never splits a surrogate pair. Its JSON
 * too when it has nothing to escape: then it is the prefix quoted.
 */
function truncateSized(text: string, budget: number): { value: string; bytes: number; json?: string } {
  let bytes = 2;
  let i = 0;
  let escaped = false;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    let width = 1;
    let cost: number;
    let escapes: boolean;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 2;
      cost = 4;
      escapes = false;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      cost = 6; // a lone surrogate is written as \udXXX
      escapes = true;
    } else {
      cost = escapedBytes(code);
      escapes = code < 0x80 && cost > 1;
    }
    if (bytes + cost > budget) break;
    bytes += cost;
    escaped ||= escapes;
    i += width;
  }
  const value = i === text.length ? text : text.slice(0, i);
  return escaped ? { value, bytes } : { value, bytes, json: `"${value}"` };
}

export function truncateString(text: string, budget: number): string {
  return truncateSized(text, budget).value;
}
