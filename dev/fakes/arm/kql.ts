// The subset of KQL the fake Resource Graph parses and evaluates: a table, then `where` (==, !=, =~, !~, in,
// in~, !in, !in~, contains, !contains, and, or, parentheses, the modulo `%`), `project` and `extend` (with
// `name = expr`), `order by`/`sort by` (asc, desc, nulls first/last), `limit`/`take`, and the functions tostring,
// tolower, toupper and hash (for the hash partitions of paging-results.md: `where hash(tolower(id)) % N == i`).
// Anything else is refused with the error details Resource Graph gives for an invalid query.

type Row = Record<string, unknown>;
type Scalar = string | number | boolean | null;

/** One entry of Resource Graph's `error.details` for an invalid query. */
export interface QueryErrorDetail {
  code: string;
  message: string;
  line?: number;
  characterPositionInLine?: number;
  token?: string;
}

export class KqlError extends Error {
  constructor(readonly detail: QueryErrorDetail) {
    super(`${detail.code}: ${detail.token ?? detail.message}`);
  }
}

type Expr =
  | { k: "lit"; v: Scalar }
  | { k: "path"; root: string; segs: (string | number)[] }
  | { k: "call"; fn: "tostring" | "tolower" | "toupper" | "hash"; args: Expr[] }
  | { k: "mod"; l: Expr; r: Expr }
  | { k: "cmp"; op: string; l: Expr; r: Expr }
  | { k: "in"; neg: boolean; ci: boolean; l: Expr; list: Expr[] }
  | { k: "and" | "or"; l: Expr; r: Expr };

interface Column {
  name: string;
  e: Expr;
}

type Stage = { op: "where"; e: Expr } | { op: "project" | "extend"; cols: Column[] } | { op: "order"; keys: { e: Expr; desc: boolean; nullsFirst: boolean }[] } | { op: "limit"; n: number };

export interface Query {
  table: string;
  stages: Stage[];
  /** The output's columns, in order. */
  columns: string[];
  /** A limit or take: Resource Graph does not page such a query. */
  limited: boolean;
}

interface Token {
  t: "ident" | "string" | "number" | "op" | "eof";
  v: string;
  /** The text as written (a string with its quotes). */
  raw: string;
  line: number;
  col: number;
}

// Tabular operators KQL has and the fake does not evaluate: named as Resource Graph names an operator it
// does not support (code InvalidQueryLanguage, token = the operator, line -1), not as a syntax error.
const UNSUPPORTED = new Set(
  "summarize join union mv-expand mv-apply parse parse-where distinct count top top-nested top-hitters sample sample-distinct project-away project-keep project-rename project-reorder lookup make-series render evaluate as getschema invoke serialize range search find facet fork partition scan reduce".split(
    " ",
  ),
);
const CMP_OPS = new Set(["==", "!=", "=~", "!~", "contains", "!contains", "contains_cs", "!contains_cs"]);
// Scalar operators KQL has and the fake does not evaluate, refused the same way.
const UNSUPPORTED_OPS = new Set(["has", "!has", "has_cs", "has_any", "has_all", "startswith", "endswith", "matches", "between", "<", ">", "<=", ">=", "+", "-", "*", "/"]);
// Each function and how many arguments it takes (hash: the value, and an optional modulo).
const FUNCTIONS = new Map([
  ["tostring", [1, 1]],
  ["tolower", [1, 1]],
  ["toupper", [1, 1]],
  ["hash", [1, 2]],
]);
const SYMBOLS = ["==", "!=", "=~", "!~", "<=", ">=", "|", "(", ")", ",", ".", "=", "[", "]", "<", ">", "+", "-", "*", "/", "%"];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): { line: number; col: number } => ({ line, col: i - lineStart });
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (text.startsWith("//", i)) {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const pos = at();
    const verbatim = c === "@" && (text[i + 1] === "'" || text[i + 1] === '"');
    if (c === "'" || c === '"' || verbatim) {
      if (verbatim) i++;
      const quote = text[i]!;
      let value = "";
      i++;
      while (i < text.length && text[i] !== quote) {
        if (text[i] === "\n") break;
        if (!verbatim && text[i] === "\\" && i + 1 < text.length) {
          const e = text[i + 1]!;
          value += e === "n" ? "\n" : e === "t" ? "\t" : e;
          i += 2;
        } else value += text[i++];
      }
      const raw = text.slice(pos.col + lineStart, i + 1);
      if (text[i] !== quote) throw parserFailure({ t: "string", v: value, raw, ...pos });
      i++;
      tokens.push({ t: "string", v: value, raw, ...pos });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(text.slice(i))!;
      i += m[0].length;
      tokens.push({ t: "number", v: m[0], raw: m[0], ...pos });
      continue;
    }
    const word = /^!?[A-Za-z_$][A-Za-z0-9_]*(?:-[A-Za-z]+)*~?/.exec(text.slice(i));
    if (word !== null && (c !== "!" || /^!(in~?|contains(_cs)?|has)$/.test(word[0]))) {
      i += word[0].length;
      const v = word[0];
      tokens.push({ t: v.startsWith("!") || v.endsWith("~") ? "op" : "ident", v, raw: v, ...pos });
      continue;
    }
    const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
    if (symbol === undefined) throw parserFailure({ t: "op", v: c, raw: c, ...pos });
    i += symbol.length;
    tokens.push({ t: "op", v: symbol, raw: symbol, ...pos });
  }
  tokens.push({ t: "eof", v: "<EOF>", raw: "<EOF>", ...at() });
  return tokens;
}

// The shape Resource Graph gives a syntax error: {code: "ParserFailure", message: "ParserFailure", line,
// characterPositionInLine (0-based; "where where" fails at 11 on <EOF>), token} — as recorded in
// Azure/azure-powershell's ResourceGraph scenario tests (Search-AzureRmGraph-QueryError) and in public
// clients' tests of captured bodies.
function parserFailure(token: Token): KqlError {
  return new KqlError({ code: "ParserFailure", message: "ParserFailure", line: token.line, characterPositionInLine: token.col, token: token.raw });
}

// Azure/azure-powershell issue 13762: an operator Resource Graph does not support (parse) answers
// InvalidQueryLanguage with line and characterPositionInLine -1 and the operator as token.
function unsupported(token: string): KqlError {
  return new KqlError({ code: "InvalidQueryLanguage", message: "InvalidQueryLanguage", line: -1, characterPositionInLine: -1, token });
}

class Parser {
  #pos = 0;
  #columns: string[];

  constructor(
    readonly tokens: Token[],
    tableColumns: string[],
  ) {
    this.#columns = [...tableColumns];
  }

  get columns(): string[] {
    return this.#columns;
  }

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.#pos + offset, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.peek();
    if (t.t !== "eof") this.#pos++;
    return t;
  }

  isWord(v: string): boolean {
    const t = this.peek();
    return t.t === "ident" && t.v === v;
  }

  expect(v: string): Token {
    const t = this.next();
    if (t.v !== v) throw parserFailure(t);
    return t;
  }

  stage(): Stage {
    const t = this.next();
    if (t.t !== "ident") throw parserFailure(t);
    switch (t.v) {
      case "where": {
        return { op: "where", e: this.expr() };
      }
      case "project":
      case "extend": {
        const cols = this.columnList(t.v === "extend");
        this.#columns = t.v === "project" ? cols.map((c) => c.name) : [...this.#columns.filter((n) => !cols.some((c) => c.name === n)), ...cols.map((c) => c.name)];
        return { op: t.v, cols };
      }
      case "order":
      case "sort": {
        this.expect("by");
        const keys: { e: Expr; desc: boolean; nullsFirst: boolean }[] = [];
        do {
          const e = this.expr();
          // KQL sorts descending unless told; nulls first when ascending, last when descending.
          let desc = true;
          if (this.isWord("asc") || this.isWord("desc")) desc = this.next().v === "desc";
          let nullsFirst = !desc;
          if (this.isWord("nulls")) {
            this.next();
            const which = this.next();
            if (which.v !== "first" && which.v !== "last") throw parserFailure(which);
            nullsFirst = which.v === "first";
          }
          keys.push({ e, desc, nullsFirst });
        } while (this.peek().v === "," && this.next());
        return { op: "order", keys };
      }
      case "limit":
      case "take": {
        const n = this.next();
        if (n.t !== "number" || n.v.includes(".")) throw parserFailure(n);
        return { op: "limit", n: Number(n.v) };
      }
      default:
        if (UNSUPPORTED.has(t.v)) throw unsupported(t.v);
        throw parserFailure(t);
    }
  }

  columnList(extend: boolean): Column[] {
    const cols: Column[] = [];
    do {
      const start = this.peek();
      if (start.t === "ident" && this.peek(1).v === "=" && this.peek(1).t === "op") {
        this.next();
        this.next();
        cols.push({ name: start.v, e: this.expr() });
        continue;
      }
      const e = this.expr();
      if (extend || e.k !== "path") cols.push({ name: `Column${cols.length + 1}`, e });
      // KQL names a projected property path by joining its segments with "_".
      else cols.push({ name: [e.root, ...e.segs].join("_"), e });
    } while (this.peek().v === "," && this.next());
    return cols;
  }

  expr(): Expr {
    return this.chain("or", () => this.chain("and", () => this.comparison()));
  }

  chain(word: "and" | "or", operand: () => Expr): Expr {
    let l = operand();
    while (this.isWord(word)) {
      this.next();
      l = { k: word, l, r: operand() };
    }
    return l;
  }

  comparison(): Expr {
    const l = this.term();
    const t = this.peek();
    if (CMP_OPS.has(t.v) && (t.t === "op" || t.t === "ident")) {
      this.next();
      return { k: "cmp", op: t.v, l, r: this.term() };
    }
    if (/^!?in~?$/.test(t.v)) {
      this.next();
      this.expect("(");
      const list: Expr[] = [];
      do {
        const item = this.next();
        if (item.t === "string") list.push({ k: "lit", v: item.v });
        else if (item.t === "number") list.push({ k: "lit", v: Number(item.v) });
        else throw parserFailure(item);
      } while (this.peek().v === "," && this.next());
      this.expect(")");
      return { k: "in", neg: t.v.startsWith("!"), ci: t.v.endsWith("~"), l, list };
    }
    if (UNSUPPORTED_OPS.has(t.v)) throw unsupported(t.v);
    return l;
  }

  /** A value, or values joined by `%` (the only arithmetic the fake evaluates). */
  term(): Expr {
    let l = this.primary();
    while (this.peek().t === "op" && this.peek().v === "%") {
      this.next();
      l = { k: "mod", l, r: this.primary() };
    }
    return l;
  }

  primary(): Expr {
    const t = this.next();
    if (t.t === "string") return { k: "lit", v: t.v };
    if (t.t === "number") return { k: "lit", v: Number(t.v) };
    if (t.v === "(" && t.t === "op") {
      const e = this.expr();
      this.expect(")");
      return e;
    }
    if (t.t !== "ident") throw parserFailure(t);
    if (t.v === "true" || t.v === "false") return { k: "lit", v: t.v === "true" };
    if (t.v === "null") return { k: "lit", v: null };
    if (this.peek().v === "(") {
      const arity = FUNCTIONS.get(t.v);
      if (arity === undefined) throw unsupported(t.v);
      this.next();
      const args: Expr[] = [];
      do args.push(this.expr());
      while (this.peek().v === "," && this.next());
      const close = this.expect(")");
      if (args.length < arity[0]! || args.length > arity[1]!) throw parserFailure(close);
      return { k: "call", fn: t.v as "tostring", args };
    }
    if (!this.#columns.includes(t.v)) {
      // Kusto's message for a name it cannot resolve; the detail code Resource Graph gives it is not documented.
      throw new KqlError({ code: "FailedToResolveScalarExpression", message: `Failed to resolve scalar expression named '${t.v}'`, token: t.v });
    }
    const segs: (string | number)[] = [];
    for (;;) {
      if (this.peek().v === "." && this.peek(1).t === "ident") {
        this.next();
        segs.push(this.next().v);
      } else if (this.peek().v === "[") {
        this.next();
        const key = this.next();
        if (key.t === "string") segs.push(key.v);
        else if (key.t === "number") segs.push(Number(key.v));
        else throw parserFailure(key);
        this.expect("]");
      } else break;
    }
    return { k: "path", root: t.v, segs };
  }
}

/** Parses a query over one of `tables` (name → its columns); throws KqlError. */
export function parseKql(text: string, tables: Record<string, string[]>): Query {
  const tokens = tokenize(text);
  const first = tokens[0]!;
  if (first.t !== "ident") throw parserFailure(first);
  const table = Object.keys(tables).find((name) => name.toLowerCase() === first.v.toLowerCase());
  if (table === undefined) {
    // Kusto's message for an unknown table; the detail code Resource Graph gives it is not documented.
    throw new KqlError({ code: "FailedToResolveTableExpression", message: `Failed to resolve table expression named '${first.v}'`, token: first.v });
  }
  const parser = new Parser(tokens, tables[table]!);
  parser.next();
  const stages: Stage[] = [];
  while (parser.peek().t !== "eof") {
    parser.expect("|");
    stages.push(parser.stage());
  }
  return { table, stages, columns: parser.columns, limited: stages.some((s) => s.op === "limit") };
}

function evaluate(e: Expr, row: Row): unknown {
  switch (e.k) {
    case "lit":
      return e.v;
    case "path": {
      let v: unknown = row[e.root];
      for (const s of e.segs) {
        if (v === null || typeof v !== "object") return undefined;
        v = Array.isArray(v) ? (typeof s === "number" ? v[s] : undefined) : (v as Row)[String(s)];
      }
      return v;
    }
    case "call": {
      const v = evaluate(e.args[0]!, row);
      if (e.fn === "hash") {
        if (v === undefined || v === null) return null;
        const h = fakeHash(text(v));
        return e.args.length === 1 ? h : modulo(h, evaluate(e.args[1]!, row));
      }
      const s = v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      return e.fn === "tolower" ? s.toLowerCase() : e.fn === "toupper" ? s.toUpperCase() : s;
    }
    case "mod":
      return modulo(evaluate(e.l, row), evaluate(e.r, row));
    case "and":
      return evaluate(e.l, row) === true && evaluate(e.r, row) === true;
    case "or":
      return evaluate(e.l, row) === true || evaluate(e.r, row) === true;
    case "cmp":
      return compare(e.op, evaluate(e.l, row), evaluate(e.r, row));
    case "in": {
      const v = evaluate(e.l, row);
      if (v === undefined || v === null) return false;
      const found = e.list.some((item) => compare(e.ci ? "=~" : "==", v, evaluate(item, row)));
      return e.neg ? !found : found;
    }
  }
}

/**
 * The fake's `hash()`: FNV-1a over the text's UTF-16 code units, as a signed 32-bit integer. Not Kusto's value
 * (xxhash64, a long): only a deterministic spread, negative half the time as a long's can be, so that a query
 * partitioning by `hash(...) % N` is tested on Kusto's modulo, which is never negative. Nothing may depend on the
 * exact value (Kusto documents its algorithm as one that may change, the same within a query).
 */
export function fakeHash(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Kusto's `%`: "the modulo of two numbers always returns a small non-negative number", 0 ≤ N % D < abs(D)
 * (-14 % 12 is 10; Kusto's numerical operators page). Null when a side is not a number, or D is 0.
 */
function modulo(n: unknown, d: unknown): number | null {
  if (typeof n !== "number" || typeof d !== "number" || d === 0 || !Number.isFinite(n) || !Number.isFinite(d)) return null;
  const m = Math.abs(d);
  return ((n % m) + m) % m;
}

function text(v: unknown): string {
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// A comparison with a missing (null) side is false, whichever the operator: KQL's null semantics.
function compare(op: string, l: unknown, r: unknown): boolean {
  if (l === undefined || l === null || r === undefined || r === null) return false;
  const negated = op.startsWith("!");
  const base = negated ? (op === "!=" ? "==" : op === "!~" ? "=~" : op.slice(1)) : op;
  let result: boolean;
  if (base === "contains" || base === "contains_cs") {
    result = base === "contains" ? text(l).toLowerCase().includes(text(r).toLowerCase()) : text(l).includes(text(r));
  } else if (typeof l !== typeof r || typeof l === "object") {
    result = false;
  } else if (base === "=~" && typeof l === "string") {
    result = l.toLowerCase() === (r as string).toLowerCase();
  } else {
    result = l === r;
  }
  return negated ? !result : result;
}

function order(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = text(a);
  const y = text(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

type OrderKey = Extract<Stage, { op: "order" }>["keys"][number];

function compareKeys(keys: readonly OrderKey[], a: unknown[], b: unknown[]): number {
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const x = a[k];
    const y = b[k];
    const xNull = x === undefined || x === null;
    const yNull = y === undefined || y === null;
    if (xNull || yNull) {
      if (xNull && yNull) continue;
      return xNull === key.nullsFirst ? -1 : 1;
    }
    const c = order(x, y);
    if (c !== 0) return key.desc ? -c : c;
  }
  return 0;
}

/** Runs a parsed query over a table's rows. */
export function runKql(query: Query, rows: Iterable<Row>): Row[] {
  let out: Row[] | undefined;
  let source: Iterable<Row> = rows;
  for (const stage of query.stages) {
    switch (stage.op) {
      case "where": {
        const kept: Row[] = [];
        for (const row of source) if (evaluate(stage.e, row) === true) kept.push(row);
        out = kept;
        break;
      }
      case "project":
      case "extend": {
        const made: Row[] = [];
        for (const row of source) {
          const values = stage.cols.map((c) => [c.name, evaluate(c.e, row) ?? null] as const);
          made.push(stage.op === "project" ? Object.fromEntries(values) : { ...row, ...Object.fromEntries(values) });
        }
        out = made;
        break;
      }
      case "order": {
        const all = [...source];
        const keyed = all.map((row) => ({ row, keys: stage.keys.map((k) => evaluate(k.e, row)) }));
        keyed.sort((a, b) => compareKeys(stage.keys, a.keys, b.keys));
        out = keyed.map((k) => k.row);
        break;
      }
      case "limit":
        out = [...source].slice(0, stage.n);
        break;
    }
    source = out!;
  }
  return out ?? [...source];
}

/** A query's result held as positions in its input: a row is made again, through the query's columns, when asked for. */
export interface LazyResult {
  length: number;
  at(index: number): Row;
}

type RowStage = Extract<Stage, { op: "project" | "extend" }>;

function through(stages: readonly RowStage[], row: Row): Row {
  let out = row;
  for (const stage of stages) {
    const values = Object.fromEntries(stage.cols.map((c) => [c.name, evaluate(c.e, out) ?? null] as const));
    out = stage.op === "project" ? values : { ...out, ...values };
  }
  return out;
}

/**
 * What runKql gives, row for row, without holding the rows: `where` and `order` keep positions (each row is made
 * once per run of stages up to an `order`), `project` and `extend` are applied again to the rows of a page.
 * The rows must be the same every time they are made.
 */
export function planKql(query: Query, count: number, rowAt: (index: number) => Row): LazyResult {
  let positions: number[] | undefined;
  const applied: RowStage[] = [];
  const stages = query.stages;
  for (let s = 0; s < stages.length;) {
    // A run of where/project/extend, ending at an order, a limit or the end.
    const run: Stage[] = [];
    while (s < stages.length && (stages[s]!.op === "where" || stages[s]!.op === "project" || stages[s]!.op === "extend")) run.push(stages[s++]!);
    const end = stages[s];
    const sort = end?.op === "order" ? end : undefined;
    if (run.some((r) => r.op === "where") || sort !== undefined) {
      const kept: number[] = [];
      const keys: unknown[][] = [];
      const total = positions?.length ?? count;
      for (let k = 0; k < total; k++) {
        const p = positions === undefined ? k : positions[k]!;
        let row = through(applied, rowAt(p));
        let keep = true;
        for (const stage of run) {
          if (stage.op === "where") keep = evaluate(stage.e, row) === true;
          else row = through([stage as RowStage], row);
          if (!keep) break;
        }
        if (!keep) continue;
        kept.push(p);
        if (sort !== undefined) keys.push(sort.keys.map((key) => evaluate(key.e, row)));
      }
      if (sort !== undefined) {
        const order = kept.map((_, i) => i);
        order.sort((a, b) => compareKeys(sort.keys, keys[a]!, keys[b]!));
        positions = order.map((i) => kept[i]!);
      } else positions = kept;
    }
    for (const stage of run) if (stage.op !== "where") applied.push(stage as RowStage);
    if (end?.op === "limit") positions = (positions ?? Array.from({ length: count }, (_, i) => i)).slice(0, end.n);
    if (end !== undefined) s++;
  }
  const final = positions;
  return { length: final?.length ?? count, at: (i) => through(applied, rowAt(final === undefined ? i : final[i]!)) };
}

/**
 * The type a query keeps when its first stage is `where type == '<type>'` (alone or and-ed with more): every
 * row of a table's source has its source's type, so the others need not be made.
 */
export function leadingTypeFilter(query: Query): string | undefined {
  const first = query.stages[0];
  if (first?.op !== "where") return undefined;
  const find = (e: Expr): string | undefined => {
    if (e.k === "and") return find(e.l) ?? find(e.r);
    if (e.k !== "cmp" || (e.op !== "==" && e.op !== "=~")) return undefined;
    const [path, lit] = e.l.k === "path" ? [e.l, e.r] : [e.r, e.l];
    if (path.k !== "path" || path.root !== "type" || path.segs.length !== 0 || lit.k !== "lit" || typeof lit.v !== "string") return undefined;
    // The sources' types are lower-case, as Resource Graph's are: =~ picks the same one.
    return e.op === "=~" ? lit.v.toLowerCase() : lit.v;
  };
  return find(first.e);
}

/** A query that keeps one hash partition of another: the other query, and the partition. */
export interface HashPartition {
  /** The query without its partition's `where`. */
  base: Query;
  of: number;
  index: number;
}

/**
 * The hash partition a query keeps when one of its stages is `where hash(tolower(id)) % N == i` and nothing in it
 * makes `id` anything but the row's id: its rows are those of the query without that stage whose output `id`
 * hashes to i modulo N, in the same order (the fake works a partition out from the whole listing's result).
 */
export function hashPartition(query: Query): HashPartition | undefined {
  const isId = (e: Expr) => e.k === "path" && e.root === "id" && e.segs.length === 0;
  const stages = query.stages;
  if (stages.some((st) => st.op === "limit" || ((st.op === "project" || st.op === "extend") && st.cols.some((c) => c.name === "id" && !isId(c.e))))) return undefined;
  if (!query.columns.includes("id")) return undefined;
  for (let s = 0; s < stages.length; s++) {
    const stage = stages[s]!;
    if (stage.op !== "where" || stage.e.k !== "cmp" || stage.e.op !== "==") continue;
    const { l, r } = stage.e;
    if (l.k !== "mod" || r.k !== "lit" || typeof r.v !== "number" || l.r.k !== "lit" || typeof l.r.v !== "number") continue;
    const hash = l.l;
    if (hash.k !== "call" || hash.fn !== "hash" || hash.args.length !== 1) continue;
    const lower = hash.args[0]!;
    if (lower.k !== "call" || lower.fn !== "tolower" || !isId(lower.args[0]!)) continue;
    return { base: { ...query, stages: stages.filter((_, k) => k !== s) }, of: l.r.v, index: r.v };
  }
  return undefined;
}

/** `hash(tolower(id))` for a row's id as the fake computes it; NaN when the id is not a string (in no partition). */
export function idHash(id: unknown): number {
  return typeof id === "string" ? fakeHash(id.toLowerCase()) : Number.NaN;
}

/** Whether a row whose `idHash` is `h` is in a hash partition, as `hash(tolower(id)) % of == index` says. */
export function inHashPartition(h: number, of: number, index: number): boolean {
  return !Number.isNaN(h) && modulo(h, of) === index;
}
