import { z } from "zod";
import { CYRB53_A, CYRB53_B, CYRB53_SEED1, CYRB53_SEED2, cyrb53Finish } from "../shared/cyrb53.js";
import { EVENT_SOURCES, OPERATORS, OPERATOR_PROPERTY_TYPES, PROPERTY_TYPES } from "./enums.js";
import { DEFAULT_MANAGEMENT_GROUP_UNITS, type ExportConfiguration, type Rule, type RuleSet, type Scope, type Source } from "./model.js";
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

// A pass unit of a management group scope: internal, never in a configuration (the scope path above refuses it).
const UNIT_PATH = /^(\/providers\/Microsoft\.Management\/managementGroups\/[-\w.()]{1,90})\/units\/(\d+)-of-(\d+)$/i;

/** The management group a scope path names (a unit of one too), or undefined for a subscription or resource group scope. */
export function managementGroupOf(path: string): string | undefined {
  return MANAGEMENT_GROUP_PATH.exec(path.replace(UNIT_PATH, "$1"))?.[1];
}

/** The scope of unit `index` of `count` of a management group: its passes, state and pass records are its own. */
export function managementGroupUnit(groupPath: string, index: number, count: number): string {
  return `${groupPath}/units/${index + 1}-of-${count}`;
}

/** Which unit of a management group scope a path is, or undefined for the group as a whole and other scopes. */
export function unitOf(path: string): { group: string; index: number; count: number } | undefined {
  const m = UNIT_PATH.exec(path);
  return m === null ? undefined : { group: m[1]!, index: Number(m[2]) - 1, count: Number(m[3]) };
}

/**
 * The unit a subscription belongs to, of `count`: a stable hash of its id, so that it stays in one unit (whose
 * state holds its records) whatever else joins or leaves the group.
 */
export function unitOfSubscription(subscriptionId: string, count: number): number {
  let h1 = CYRB53_SEED1;
  let h2 = CYRB53_SEED2;
  const id = subscriptionId.toLowerCase();
  for (let i = 0; i < id.length; i++) {
    h1 = Math.imul(h1 ^ id.charCodeAt(i), CYRB53_A);
    h2 = Math.imul(h2 ^ id.charCodeAt(i), CYRB53_B);
  }
  return cyrb53Finish(h1, h2) % count;
}

/** The scopes a configuration's passes run at, with its own number of management group units (or the default). */
export function configurationPassScopes(configuration: Pick<ExportConfiguration, "scopes" | "managementGroupUnits">): string[] {
  return passScopes(configuration.scopes, configuration.managementGroupUnits ?? DEFAULT_MANAGEMENT_GROUP_UNITS);
}

/**
 * The scopes a configuration's passes run at: a management group split into its units (one unit too, so that every
 * group pass reads its subscriptions by name, keeps a ledger and shows in status alike), the others as they are.
 */
export function passScopes(scopes: readonly { scopePath: string }[], units: number): string[] {
  const count = Math.max(1, units);
  return scopes.flatMap((s) => (managementGroupOf(s.scopePath) === undefined ? [s.scopePath] : Array.from({ length: count }, (_, i) => managementGroupUnit(s.scopePath, i, count))));
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
