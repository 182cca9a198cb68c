import type { Operator, PropertyType } from "../config/enums.js";
import type { Rule, Source } from "../config/model.js";
import { definitionOf, EVENT_SOURCE_DATA_TYPE, type DataType } from "../datatypes/registry.js";
import { isObject } from "../shared/object.js";
import { convertExpectedValue, parseJsonPath, type PathSegment, type TypedValue } from "../config/rule-syntax.js";
import { getProperty, walkPath } from "./jsonpath.js";
import { convertActualValue } from "./values.js";

export type RecordPredicate = (record: unknown) => boolean;

export interface CompiledSource {
  readonly source: Source;
  readonly dataType: DataType;
  readonly matches: RecordPredicate;
}

export interface CompileOptions {
  /** Called once per rule evaluated (benchmarks count evaluations with it). */
  onRuleEvaluated?: () => void;
}

export class RuleCompileError extends Error {}

/**
 * Compiles a rule to a predicate. The predicate is total: a missing property, or a value that
 * cannot be converted to the property type, makes the rule false; it never throws on any JSON.
 */
export function compileRule(rule: Rule, dataType?: DataType): RecordPredicate {
  const path = parseJsonPath(rule.propertyJPath);
  if (!path.ok) throw new RuleCompileError(`invalid propertyJPath ${JSON.stringify(rule.propertyJPath)}: ${path.message}`);
  const expected = convertExpectedValue(rule.expectedValue, rule.propertyType);
  if (expected === undefined) {
    throw new RuleCompileError(`expectedValue ${JSON.stringify(rule.expectedValue)} cannot be converted to ${rule.propertyType}`);
  }
  const resolve = resolver(path.segments, dataType);
  const compare = comparator(rule.propertyType, rule.operator, expected, rule.expectedValue);
  const type = rule.propertyType;
  return (record) => {
    const found = resolve(record);
    if (found === undefined) return false;
    const actual = convertActualValue(found, type);
    return actual !== undefined && compare(actual);
  };
}

/** Rule sets OR-ed, rules AND-ed; no rule sets (null or []) selects every record. */
export function compileSource(source: Source, options: CompileOptions = {}): CompiledSource {
  const dataType = EVENT_SOURCE_DATA_TYPE[source.eventSource];
  const ruleSets = (source.ruleSets ?? []).map((rs) =>
    rs.rules.map((rule) => {
      const predicate = compileRule(rule, dataType);
      const count = options.onRuleEvaluated;
      return count === undefined ? predicate : (record: unknown) => (count(), predicate(record));
    }),
  );
  if (ruleSets.length === 0) return { source, dataType, matches: () => true };
  const matches: RecordPredicate = (record) => {
    for (const rules of ruleSets) {
      let all = true;
      for (const rule of rules) {
        if (!rule(record)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  };
  return { source, dataType, matches };
}

/**
 * Resolves a path on a record: from the top level, else (when the top level lacks the first name)
 * from `properties`, else through the names of an older model of the record (alerts' legacy event model).
 */
function resolver(segments: readonly PathSegment[], dataType: DataType | undefined): (record: unknown) => unknown {
  const first = segments[0];
  if (first === undefined || first.kind === "index") return (record) => walkPath(record, segments);
  const legacy = dataType === undefined ? undefined : definitionOf(dataType).ruleAliases?.get(first.lower);
  return (record) => {
    if (!isObject(record)) return undefined;
    const top = getProperty(record, first);
    if (top !== undefined) return walkPath(top, segments, 1);
    const properties = record["properties"];
    if (isObject(properties)) {
      const inner = getProperty(properties, first);
      if (inner !== undefined) return walkPath(inner, segments, 1);
    }
    if (legacy !== undefined) {
      const aliased = legacy(record);
      if (aliased !== undefined && aliased !== null) return walkPath(aliased, segments, 1);
    }
    return undefined;
  };
}

type Compare = (actual: TypedValue) => boolean;

// Strings compare case-insensitively; numbers and booleans (false < true) by value. Operators that
// validation refuses for a type (GreaterThan on String, Contains on Integer) still have a meaning here:
// ordinal comparison of the lower-cased text, and substring tests on the value's text.
function comparator(type: PropertyType, operator: Operator, expected: TypedValue, expectedText: string): Compare {
  if (operator === "Contains" || operator === "StartsWith" || operator === "EndsWith") {
    // The text as written: Contains ".5" on 23.53 looks for ".5", not for "0.5".
    const e = (type === "String" ? String(expected) : expectedText.trim()).toLowerCase();
    const text = (a: TypedValue) => String(a).toLowerCase();
    if (operator === "Contains") return (a) => text(a).includes(e);
    if (operator === "StartsWith") return (a) => text(a).startsWith(e);
    return (a) => text(a).endsWith(e);
  }
  if (type === "String") return ordered(operator, String(expected).toLowerCase(), (a) => String(a).toLowerCase());
  return ordered(operator, Number(expected), (a) => Number(a));
}

function ordered<T extends string | number>(operator: Exclude<Operator, "Contains" | "StartsWith" | "EndsWith">, e: T, value: (a: TypedValue) => T): Compare {
  switch (operator) {
    case "Equals":
      return (a) => value(a) === e;
    case "NotEquals":
      return (a) => value(a) !== e;
    case "GreaterThan":
      return (a) => value(a) > e;
    case "GreaterThanOrEqualTo":
      return (a) => value(a) >= e;
    case "LesserThan":
      return (a) => value(a) < e;
    case "LesserThanOrEqualTo":
      return (a) => value(a) <= e;
  }
}
