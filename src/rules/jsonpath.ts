import { isObject } from "../shared/object.js";
import type { PathSegment } from "../config/rule-syntax.js";

/**
 * Own property of a plain object, matched exactly first and then case-insensitively. Never walks prototypes.
 * The segment remembers the spelling that matched last: records of one API share their shape, so the
 * next record finds `severity` for `Severity` without scanning its keys.
 */
export function getProperty(obj: Record<string, unknown>, segment: { name: string; lower: string; hint?: string }): unknown {
  if (Object.hasOwn(obj, segment.name)) return obj[segment.name];
  const hint = segment.hint;
  if (hint !== undefined && Object.hasOwn(obj, hint)) return obj[hint];
  const lower = segment.lower;
  for (const key of Object.keys(obj)) {
    if (key.length === lower.length && key.toLowerCase() === lower) {
      segment.hint = key;
      return obj[key];
    }
  }
  return undefined;
}

/** Follows segments from `start`; undefined when any step is missing or of the wrong shape. */
export function walkPath(start: unknown, segments: readonly PathSegment[], from = 0): unknown {
  let current = start;
  for (let s = from; s < segments.length; s++) {
    const seg = segments[s]!;
    if (seg.kind === "property") {
      if (!isObject(current)) return undefined;
      current = getProperty(current, seg);
    } else {
      if (!Array.isArray(current) || seg.index >= current.length) return undefined;
      current = current[seg.index];
    }
    if (current === undefined) return undefined;
  }
  return current;
}
