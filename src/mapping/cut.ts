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
  const sizes: Sizes = new WeakMap();
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
        const shrunk = shrinkSized(out[key], budget, sizes);
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

/**
 * The JSON sizes of the objects and arrays met in one cut, by identity: a nested value is measured once, where each
 * level of the cut would serialize it again (a cut object keeps its members that were not cut, so they are met again).
 */
type Sizes = WeakMap<object, number>;

/** `jsonBytes(value)`, from the sizes of its members (each object and array measured once in `sizes`). */
export function jsonSize(value: unknown, sizes: Sizes = new WeakMap()): number {
  if (typeof value !== "object" || value === null) return jsonBytes(value);
  // Whatever JSON.stringify would not write member by member (toJSON, boxed primitives, other classes) is serialized.
  if (!isPlain(value)) return jsonBytes(value);
  let size = sizes.get(value);
  // Met again while being measured: a cycle, which JSON.stringify refuses (with its own TypeError).
  if (size === MEASURING) return jsonBytes(value);
  if (size === undefined) {
    sizes.set(value, MEASURING);
    size = containerSize(value, sizes);
    sizes.set(value, size);
  }
  return size;
}

const MEASURING = -1;

/** An object or array JSON.stringify writes member by member, as jsonSize counts: no toJSON, no class of its own. */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return typeof (value as { toJSON?: unknown }).toJSON !== "function" && (proto === Object.prototype || proto === null || proto === Array.prototype);
}

/** A plain object's or array's JSON size; one holding anything else is serialized whole (toJSON is given its key then). */
function containerSize(value: object, sizes: Sizes): number {
  if (Array.isArray(value)) {
    let size = 2 + Math.max(0, value.length - 1);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === "object" && v !== null && !isPlain(v)) return jsonBytes(value);
      size += isOmitted(v) ? 4 : jsonSize(v, sizes); // written as null in an array
    }
    return size;
  }
  let size = 2;
  let members = 0;
  for (const key of Object.keys(value)) {
    const v: unknown = (value as Json)[key];
    if (isOmitted(v)) continue;
    if (typeof v === "object" && v !== null && !isPlain(v)) return jsonBytes(value);
    size += keyBytes(key) + 1 + jsonSize(v, sizes);
    members++;
  }
  return size + Math.max(0, members - 1);
}

/** Values JSON.stringify leaves out of an object (and writes as null in an array). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/** A member name's JSON size; the same names come again and again (bounded: names come from records). */
const keySizes = new Map<string, number>();
function keyBytes(key: string): number {
  let size = keySizes.get(key);
  if (size === undefined) {
    size = jsonBytes(key);
    if (keySizes.size >= 4096) keySizes.clear();
    keySizes.set(key, size);
  }
  return size;
}

/** The smallest a value can become. */
function minimalBytes(value: unknown, sizes: Sizes): number {
  return isShrinkable(value) ? 2 : jsonSize(value, sizes);
}

/** A value whose JSON fits in `budget` bytes (or its minimal form when nothing smaller exists). */
export function shrink(value: unknown, budget: number): unknown {
  return shrinkSized(value, budget, new WeakMap()).value;
}

/** `json`: the value's JSON when it came for nothing (a string cut with nothing to escape). */
function shrinkSized(value: unknown, budget: number, sizes: Sizes): { value: unknown; bytes: number; json?: string } {
  if (typeof value === "string") return truncateSized(value, budget);
  if (Array.isArray(value)) return shrinkContainer(value, budget, true, sizes);
  if (isObject(value)) return shrinkContainer(value, budget, false, sizes);
  return { value, bytes: jsonSize(value, sizes) };
}

// Members this small are kept whole or dropped, never shaved.
const SMALL_MEMBER = 64;

/** What a container's members share while it is cut: the sizes met, and its members' sizes and keys added up. */
interface Cutting {
  sizes: Sizes;
  sum: number;
}

/** A member of an object or array being cut, as the leveller sees it. */
class Member implements Slot {
  constructor(
    readonly key: string | number,
    public value: unknown,
    readonly keyBytes: number,
    public size: number,
    readonly min: number,
    private readonly cutting: Cutting,
  ) {}

  shrinkTo(budget: number): void {
    const shrunk = shrinkSized(this.value, budget, this.cutting.sizes);
    this.value = shrunk.value;
    this.cutting.sum -= this.size - shrunk.bytes;
    this.size = shrunk.bytes;
  }
}

/** Adds a member to those of a container being cut; whether it can give. */
function addMember(children: Member[], cutting: Cutting, key: string | number, value: unknown, keyBytes: number): boolean {
  const size = jsonSize(value, cutting.sizes);
  const min = Math.min(size, Math.max(minimalBytes(value, cutting.sizes), SMALL_MEMBER));
  children.push(new Member(key, value, keyBytes, size, min, cutting));
  cutting.sum += keyBytes + size;
  return size > min;
}

function shrinkContainer(container: readonly unknown[] | Json, budget: number, isArray: boolean, sizes: Sizes): { value: unknown; bytes: number } {
  const cutting: Cutting = { sizes, sum: 0 };
  const children: Member[] = [];
  // Only members over their least size can give: most members of the many small objects of a nested value are not.
  let shrinkable = false;
  if (isArray) {
    const array = container as readonly unknown[];
    for (let i = 0; i < array.length; i++) shrinkable = addMember(children, cutting, i, array[i], 0) || shrinkable;
  } else {
    for (const key of Object.keys(container)) shrinkable = addMember(children, cutting, key, (container as Json)[key], keyBytes(key) + 1) || shrinkable;
  }
  const over = () => 2 + cutting.sum + Math.max(0, children.length - 1) - budget;
  if (shrinkable) level(children, over(), over);
  // Still over: drop trailing members.
  while (children.length > 0 && over() > 0) {
    const last = children.pop()!;
    cutting.sum -= last.keyBytes + last.size;
  }
  const bytes = over() + budget;
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
export function truncateSized(text: string, budget: number): { value: string; bytes: number; json?: string } {
  const native = text.length > ENCODE_INTO_FROM && budget > 2 && budget - 2 <= SCRATCH_BYTES ? truncateUnescaped(text, budget) : undefined;
  return native ?? truncateCounting(text, budget);
}

// Shorter strings are counted faster in the loop than encoded; longer budgets (events) are rare, and not worth the memory held.
const ENCODE_INTO_FROM = 256;
const SCRATCH_BYTES = 65_536;
const encoder = new TextEncoder();
let scratch: Uint8Array | undefined;
// Whatever JSON.stringify escapes (control characters among them), and every surrogate (a prefix holding one, paired
// or not, is left to the loop).
// eslint-disable-next-line no-control-regex
const ESCAPED_OR_SURROGATE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The cut of a long string by native UTF-8 encoding, when what could fit has nothing to escape: the prefix that fits
 * as raw UTF-8 is then the longest whose JSON fits (the next character, escaped or not, takes no fewer bytes than
 * raw, and encodeInto never writes half a character). Undefined when the loop must count.
 */
function truncateUnescaped(text: string, budget: number): { value: string; bytes: number; json: string } | undefined {
  // No more characters than bytes can fit: an escape or a surrogate among them sends the cut to the loop before
  // anything is encoded (descriptions often hold a newline or a quote early).
  const room = budget - 2;
  const head = text.length > room ? text.slice(0, room) : text;
  if (ESCAPED_OR_SURROGATE.test(head)) return undefined;
  scratch ??= new Uint8Array(SCRATCH_BYTES);
  const { read, written } = encoder.encodeInto(head, scratch.subarray(0, room));
  const value = read === text.length ? text : text.slice(0, read);
  return { value, bytes: written + 2, json: `"${value}"` };
}

function truncateCounting(text: string, budget: number): { value: string; bytes: number; json?: string } {
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
