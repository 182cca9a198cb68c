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

/** Parses JSON; on failure, locates the first error (JSON.parse's own messages have no position on every Node). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: locateJsonError(text) };
  }
}

export function locateJsonError(text: string): JsonSyntaxError {
  const errors: ParseError[] = [];
  parseTolerant(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  const offset = first?.offset ?? text.length;
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - before.lastIndexOf("\n");
  const reason = first === undefined ? "invalid JSON" : (REASONS[printParseErrorCode(first.error)] ?? "invalid JSON");
  return { line, column, reason: text.trim() === "" ? "empty; a JSON value was expected" : reason };
}
