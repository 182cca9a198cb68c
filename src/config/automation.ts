import { z } from "zod";
import { EVENT_SOURCES, OPERATORS, OPERATOR_PROPERTY_TYPES, PROPERTY_TYPES } from "./enums.js";
import type { Rule, RuleSet, Scope, Source } from "./model.js";
import { redactSecretsInText } from "./secret.js";
import { convertExpectedValue, parseJsonPath } from "./rule-syntax.js";
import { caseInsensitiveEnum, describe, freeText, nonEmptyString, show, strictObject } from "./zod-helpers.js";

// The automations model (sources, rule sets, rules, scopes) with the checks ARM leaves to run time.

const expectedValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: (i) => `expected expectedValue (a string), got ${describe(i.input)}`,
  })
  .transform((v) => String(v))
  .refine((v) => redactSecretsInText(v) === v, { message: "expectedValue looks like it holds a secret (a key, a signature, a token), which would be stored and shown: remove it" });

export const ruleSchema = strictObject(
  {
    propertyJPath: nonEmptyString("propertyJPath"),
    propertyType: caseInsensitiveEnum(PROPERTY_TYPES, "propertyType"),
    expectedValue,
    operator: caseInsensitiveEnum(OPERATORS, "operator"),
  },
  "a rule",
).superRefine((rule, ctx) => {
  const path = parseJsonPath(rule.propertyJPath);
  if (!path.ok) {
    ctx.addIssue({ code: "custom", path: ["propertyJPath"], message: `invalid JSON path ${show(rule.propertyJPath)}: ${path.message}` });
  }
  const fits = OPERATOR_PROPERTY_TYPES[rule.operator];
  if (!fits.includes(rule.propertyType)) {
    ctx.addIssue({
      code: "custom",
      path: ["operator"],
      message: `operator ${rule.operator} does not apply to propertyType ${rule.propertyType}; it applies to ${fits.join(", ")}`,
    });
  }
  if (convertExpectedValue(rule.expectedValue, rule.propertyType) === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["expectedValue"],
      message: `expectedValue ${show(rule.expectedValue)} cannot be converted to ${rule.propertyType}; expected ${EXPECTED_SPELLING[rule.propertyType]}`,
    });
  }
}) satisfies z.ZodType<Rule, unknown>;

const EXPECTED_SPELLING = {
  String: "any text",
  Integer: "a whole number such as 42 or -7",
  Number: "a number such as 0.5 or 12",
  Boolean: "true or false",
} as const;

export const ruleSetSchema = strictObject({ rules: z.array(ruleSchema, { error: (i) => `expected rules (an array), got ${describe(i.input)}` }).optional() }, "a rule set").transform(
  (rs): RuleSet => ({ rules: rs.rules ?? [] }),
);

export const sourceSchema = strictObject(
  {
    eventSource: caseInsensitiveEnum(EVENT_SOURCES, "eventSource"),
    ruleSets: z
      .array(ruleSetSchema, { error: (i) => `expected ruleSets (an array or null), got ${describe(i.input)}` })
      .nullable()
      .optional(),
  },
  "a source",
).transform((s): Source => ({ eventSource: s.eventSource, ruleSets: s.ruleSets ?? null }));

export const GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
/** A resource group's name as ARM allows it: letters, digits, `_ - . ( )`, up to 90. */
export const RESOURCE_GROUP = "[-\\w.()\\p{L}]{1,90}";
const SCOPE_PATH = new RegExp(`^/subscriptions/(${GUID})(?:/resourceGroups/(${RESOURCE_GROUP}))?/?$`, "iu");

/** `/subscriptions/<id>` or `/subscriptions/<id>/resourceGroups/<name>`, in canonical casing. */
export function normalizeScopePath(path: string): string | undefined {
  const m = SCOPE_PATH.exec(path.trim());
  if (!m) return undefined;
  const sub = `/subscriptions/${m[1]!.toLowerCase()}`;
  return m[2] === undefined ? sub : `${sub}/resourceGroups/${m[2]}`;
}

/** A management group's id as ARM allows it: letters, digits, `- _ . ( )`, up to 90, not ending with a period. */
const MANAGEMENT_GROUP_PATH = /^\/providers\/Microsoft\.Management\/managementGroups\/([-\w.()]{1,90})\/?$/i;

/** `/providers/Microsoft.Management/managementGroups/<id>` in canonical casing, or undefined. */
export function normalizeManagementGroupPath(path: string): string | undefined {
  const m = MANAGEMENT_GROUP_PATH.exec(path.trim());
  return m === null || m[1]!.endsWith(".") ? undefined : `/providers/Microsoft.Management/managementGroups/${m[1]!}`;
}

/** The management group a scope path names, or undefined for a subscription or resource group scope. */
export function managementGroupOf(path: string): string | undefined {
  return MANAGEMENT_GROUP_PATH.exec(path)?.[1];
}

const scopePath = z.string({ error: (i) => `expected scopePath (a string), got ${describe(i.input)}` }).transform((p, ctx) => {
  const normalized = normalizeScopePath(p) ?? normalizeManagementGroupPath(p);
  if (normalized === undefined || p.trim().endsWith(".")) {
    ctx.issues.push({
      code: "custom",
      input: p,
      message: `invalid scopePath ${show(p)}; expected /subscriptions/<subscription id>, /subscriptions/<subscription id>/resourceGroups/<resource group> or /providers/Microsoft.Management/managementGroups/<management group id>`,
    });
    return z.NEVER;
  }
  return normalized;
});

// A bare path string is accepted too, as a shorthand for {"scopePath": ...}.
export const scopeSchema = z
  .preprocess((v) => (typeof v === "string" ? { scopePath: v } : v), strictObject({ description: freeText("a scope's description").optional(), scopePath }, "a scope"))
  .transform((s): Scope => (s.description === undefined ? { scopePath: s.scopePath } : { description: s.description, scopePath: s.scopePath }));

/**
 * For each scope path, the one that already covers it (an earlier equal path, or its subscription listed
 * anywhere), or undefined: a covered scope is read once, with the scope that covers it.
 */
export function coveringScopes(paths: readonly string[]): (string | undefined)[] {
  const lower = paths.map((p) => p.toLowerCase());
  return lower.map((path, i) => {
    const j = lower.findIndex((other, k) => (k < i && other === path) || (k !== i && path.startsWith(`${other}/`)));
    return j < 0 ? undefined : paths[j];
  });
}
