import { isObject } from "../shared/object.js";
/**
 * The JSON paths of automation rules (`propertyJPath`): `a.b.c`, `$.a.b`, `a[0].b`, `a['x y']`.
 * Property names may hold spaces (`ExtendedProperties.Process Path`), as real configurations do.
 */

export type PathSegment = { kind: "property"; name: string; lower: string; hint?: string } | { kind: "index"; index: number };

export type PathParseResult = { ok: true; segments: PathSegment[] } | { ok: false; message: string };

const UNSUPPORTED = "only property names and array indexes are supported (no wildcards, filters or recursive descent)";

export function parseJsonPath(path: string): PathParseResult {
  let text = path.trim();
  if (text.startsWith("$")) {
    text = text.slice(1);
    if (text.startsWith(".")) text = text.slice(1);
    else if (text !== "" && !text.startsWith("[")) return { ok: false, message: "expected '.' or '[' after '$'" };
  }
  if (text === "") return { ok: false, message: "the path names no property" };

  const segments: PathSegment[] = [];
  let i = 0;
  let expectName = true; // at the start, or right after a '.'
  while (i < text.length) {
    const ch = text[i];
    if (ch === "[") {
      const close = findBracketEnd(text, i);
      if (close < 0) return { ok: false, message: `unclosed '[' at character ${i + 1}` };
      const inner = text.slice(i + 1, close).trim();
      const quoted = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(inner);
      if (quoted) {
        const name = (quoted[1] ?? quoted[2] ?? "").replace(/\\(.)/g, "$1");
        if (name === "") return { ok: false, message: `empty property name at character ${i + 1}` };
        segments.push(property(name));
      } else if (/^\d{1,9}$/.test(inner)) {
        segments.push({ kind: "index", index: Number(inner) });
      } else {
        return { ok: false, message: `unsupported '[${inner}]' at character ${i + 1}: ${UNSUPPORTED}` };
      }
      i = close + 1;
      expectName = false;
      if (i < text.length) {
        if (text[i] === ".") {
          i++;
          expectName = true;
          if (i === text.length) return { ok: false, message: "the path ends with '.'" };
        } else if (text[i] !== "[") {
          return { ok: false, message: `expected '.' or '[' at character ${i + 1}` };
        }
      }
      continue;
    }
    if (!expectName) return { ok: false, message: `expected '.' or '[' at character ${i + 1}` };
    let end = i;
    while (end < text.length && text[end] !== "." && text[end] !== "[") end++;
    const name = text.slice(i, end);
    if (name.trim() === "") return { ok: false, message: `empty property name at character ${i + 1}` };
    if (name === "*" || name.includes("*") || name.startsWith("?")) {
      return { ok: false, message: `unsupported '${name}' at character ${i + 1}: ${UNSUPPORTED}` };
    }
    segments.push(property(name));
    i = end;
    expectName = false;
    if (text[i] === ".") {
      i++;
      expectName = true;
      if (i === text.length) return { ok: false, message: "the path ends with '.'" };
      if (text[i] === ".") return { ok: false, message: `unsupported '..' at character ${i}: ${UNSUPPORTED}` };
    }
  }
  return { ok: true, segments };
}

function property(name: string): PathSegment {
  return { kind: "property", name, lower: name.toLowerCase() };
}

function findBracketEnd(text: string, open: number): number {
  let quote: string | undefined;
  for (let j = open + 1; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === "\\") j++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "]") return j;
  }
  return -1;
}

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
