import { parse as parseTolerant, printParseErrorCode, type ParseError } from "jsonc-parser";

/** Why a text is not JSON, located by line and column; never quotes the text (it may hold a secret). */
export interface JsonSyntaxError {
  line: number;
  column: number;
  reason: string;
}

const REASONS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "a property name (in double quotes) was expected",
  ValueExpected: "a value was expected",
  ColonExpected: "':' was expected",
  CommaExpected: "',' was expected",
  CloseBraceExpected: "'}' was expected",
  CloseBracketExpected: "']' was expected",
  EndOfFileExpected: "the text goes on after the JSON value",
  InvalidCommentToken: "comments are not allowed in JSON",
  UnexpectedEndOfComment: "comments are not allowed in JSON",
  UnexpectedEndOfString: "a string is not closed",
  UnexpectedEndOfNumber: "a number is cut short",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape",
  InvalidCharacter: "a control character inside a string",
};

/**
 * How deep JSON may nest. Real Defender records nest about ten levels; deeper input is refused where it
 * enters, because serializing it again (a row, an event, a clone) recurses and would exhaust the stack.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Parses JSON; on failure, locates the first error (JSON.parse's own messages have no position on every Node).
 * Nesting deeper than `maxDepth` is an error at the bracket that goes too deep.
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError } {
  const tooDeep = depthExceededAt(text, maxDepth);
  if (tooDeep >= 0) return { ok: false, error: { ...position(text, tooDeep), reason: `nested deeper than ${maxDepth} levels` } };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: locateJsonError(text) };
  }
}

/** The offset of the first bracket that opens level `maxDepth + 1`, or -1. Strings are skipped, escapes included. */
function depthExceededAt(text: string, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
}

export function locateJsonError(text: string): JsonSyntaxError {
  const errors: ParseError[] = [];
  parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  const { line, column } = position(text, first?.offset ?? text.length);
  const reason = first === undefined ? "invalid JSON" : (REASONS[printParseErrorCode(first.error)] ?? "invalid JSON");
  return { line, column, reason: text.trim() === "" ? "empty; a JSON value was expected" : reason };
}
