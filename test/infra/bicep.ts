// Reading Bicep as text, for tests that cannot compile it (no Bicep CLI here): just enough structure to find a
// resource or module and the expressions in it.
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { filesUnder, ROOT } from "../helpers/settings.js";

export const infraText = (path: string): string => readFileSync(join(ROOT, "infra", path), "utf8");

/** Every .bicep file under infra/, by its path relative to infra/. */
export const bicepFiles = (): Map<string, string> =>
  new Map(
    filesUnder(join(ROOT, "infra"))
      .filter((f) => f.endsWith(".bicep"))
      .map((f) => [relative(join(ROOT, "infra"), f).split("\\").join("/"), readFileSync(f, "utf8")]),
  );

/** The text from `open` at `start` to its matching close, both included; strings and comments are skipped. */
export function balanced(text: string, start: number): string {
  const open = text[start]!;
  const close = ({ "(": ")", "[": "]", "{": "}" } as Record<string, string>)[open];
  if (close === undefined) throw new Error(`no bracket at ${start}`);
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      // A Bicep string: '' is not an escape in Bicep (\' is), and ${...} holds expressions that may hold strings.
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === "\\") i++;
        else if (text[i] === "$" && text[i + 1] === "{") i += balanced(text, i + 1).length;
        i++;
      }
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error(`unbalanced ${open} at ${start}`);
}

export interface Declaration {
  /** resource or module */
  kind: string;
  symbol: string;
  /** The resource type with its api-version, or the module's path. */
  target: string;
  /** The condition of `= if (...)`, without its parentheses; undefined when there is none. */
  condition: string | undefined;
  /** The declaration's body, braces included (for a loop, the body of each element). */
  body: string;
}

/** The resources and modules a Bicep file declares, nested child resources included. */
export function declarations(text: string): Declaration[] {
  const found: Declaration[] = [];
  const header = /^\s*(resource|module) (\w+) '([^']+)'(?: existing)? = /gm;
  for (const m of text.matchAll(header)) {
    let at = m.index + m[0].length;
    let condition: string | undefined;
    if (text.startsWith("[for ", at)) at = text.indexOf("{", at);
    if (text.startsWith("if ", at)) {
      const parens = balanced(text, at + 3);
      condition = parens.slice(1, -1).trim();
      at = text.indexOf("{", at + 3 + parens.length);
    }
    found.push({ kind: m[1]!, symbol: m[2]!, target: m[3]!, condition, body: balanced(text, at) });
  }
  return found;
}

/** The value expression of a top-level `key:` line in an object body (the first one), or undefined. */
export function property(body: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s{,])${key}: `, "m").exec(body);
  if (m === null) return undefined;
  const start = m.index + m[0].length;
  const first = body[start];
  if (first === "{" || first === "[" || first === "(") return balanced(body, start);
  // Up to the end of the line, or to a comma or closing brace of a one-line object.
  let end = start;
  let depth = 0;
  for (; end < body.length; end++) {
    const c = body[end]!;
    if (c === "'") {
      end++;
      while (end < body.length && body[end] !== "'") end++;
      continue;
    }
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) {
      if (depth === 0) break;
      depth--;
    } else if ((c === "," || c === "\n") && depth === 0) break;
  }
  return body.slice(start, end).trim();
}

/** The arguments of the first call to `fn(` in `expression`, split at top-level commas. */
export function callArguments(expression: string, fn: string): string[] | undefined {
  const at = expression.indexOf(`${fn}(`);
  if (at < 0) return undefined;
  const inner = balanced(expression, at + fn.length).slice(1, -1);
  const args: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === "'") {
      i++;
      while (i < inner.length && inner[i] !== "'") i++;
    } else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (c === "," && depth === 0) {
      args.push(inner.slice(from, i).trim());
      from = i + 1;
    }
  }
  args.push(inner.slice(from).trim());
  return args;
}

/**
 * Evaluates the small part of Bicep these templates' checks are written in: string literals, names bound in `scope`
 * (with .property access), indexes, length(), empty(), toLower(), split(), ==, !=, &&, ||, !, and ternaries; and
 * refuses anything else.
 */
export function evaluate(expression: string, scope: Record<string, unknown>): unknown {
  const js = expression
    .replace(/\s+/g, " ")
    .replace(/==/g, "===")
    .replace(/!=(?!=)/g, "!==");
  const allowed = /^(?:'[^']*'|\d+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|[\s()[\]?:!&|=,]+)*$/;
  if (!allowed.test(js)) throw new Error(`not modelled: ${expression}`);
  for (const name of js
    .replace(/'[^']*'/g, "")
    .replace(/\.[A-Za-z_]\w*/g, "")
    .match(/[A-Za-z_]\w*/g) ?? []) {
    if (!["length", "empty", "toLower", "split", "true", "false", ...Object.keys(scope)].includes(name)) throw new Error(`not modelled: ${name}`);
  }
  const helpers = {
    length: (v: string | unknown[]) => v.length,
    empty: (v: string | unknown[]) => v.length === 0,
    toLower: (v: string) => v.toLowerCase(),
    split: (v: string, separator: string) => v.split(separator),
  };
  const names = [...Object.keys(helpers), ...Object.keys(scope)];
  // The expression was checked against the subset above.
  return new Function(...names, `return (${js});`)(...Object.values(helpers), ...Object.values(scope));
}
