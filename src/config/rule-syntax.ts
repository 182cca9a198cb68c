import type { PropertyType } from "./enums.js";

// The syntax of automation rules, which validation checks and the rule engine compiles: JSON paths and
// expected values. Here, below both, so that config/ does not import rules/.

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

/** A value converted to a rule's property type. */
export type TypedValue = string | number | boolean;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Converts a rule's `expectedValue` (always a string in the automations model) to its property type.
 * Returns undefined when it cannot be converted.
 */
export function convertExpectedValue(text: string, type: PropertyType): TypedValue | undefined {
  switch (type) {
    case "String":
      return text;
    case "Integer": {
      const t = text.trim();
      if (!INTEGER.test(t)) return undefined;
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case "Number": {
      const t = text.trim();
      if (!NUMBER.test(t)) return undefined;
      const n = Number(t);
      return Number.isFinite(n) ? n : undefined;
    }
    case "Boolean": {
      const t = text.trim().toLowerCase();
      return t === "true" ? true : t === "false" ? false : undefined;
    }
  }
}
