// The enumerations of the Microsoft.Security/automations model (api-version 2023-12-01-preview).

export const EVENT_SOURCES = [
  "Assessments",
  "AssessmentsSnapshot",
  "SubAssessments",
  "SubAssessmentsSnapshot",
  "Alerts",
  "SecureScores",
  "SecureScoresSnapshot",
  "SecureScoreControls",
  "SecureScoreControlsSnapshot",
  "RegulatoryComplianceAssessment",
  "RegulatoryComplianceAssessmentSnapshot",
  "AttackPaths",
  "AttackPathsSnapshot",
] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Extension: how records are read: the Microsoft.Security lists, or Azure Resource Graph (attack paths always). */
export const READERS = ["arm", "resourceGraph"] as const;
export type ReaderKind = (typeof READERS)[number];

export const OPERATORS = ["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LesserThan", "LesserThanOrEqualTo", "NotEquals", "Contains", "StartsWith", "EndsWith"] as const;
export type Operator = (typeof OPERATORS)[number];

export const PROPERTY_TYPES = ["String", "Integer", "Number", "Boolean"] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

/** ARM's action types, and StorageAccount: this service's extension for Blob storage (as the Defender XDR storage destination). */
export const ACTION_TYPES = ["EventHub", "Workspace", "LogicApp", "StorageAccount", "Internal"] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/**
 * Which property types each operator applies to, from the Operator enum's descriptions:
 * ordering "applies only for decimal operands", Contains/StartsWith/EndsWith
 * "only for non-decimal operands", Equals/NotEquals for both.
 */
export const OPERATOR_PROPERTY_TYPES: Readonly<Record<Operator, readonly PropertyType[]>> = {
  Equals: PROPERTY_TYPES,
  NotEquals: PROPERTY_TYPES,
  GreaterThan: ["Integer", "Number"],
  GreaterThanOrEqualTo: ["Integer", "Number"],
  LesserThan: ["Integer", "Number"],
  LesserThanOrEqualTo: ["Integer", "Number"],
  Contains: ["String", "Boolean"],
  StartsWith: ["String", "Boolean"],
  EndsWith: ["String", "Boolean"],
};

export const SEVERITIES = ["High", "Medium", "Low"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Looks a value up case-insensitively, as ARM matches enum values. */
export function matchEnum<T extends string>(values: readonly T[], input: string): T | undefined {
  const wanted = input.trim().toLowerCase();
  return values.find((v) => v.toLowerCase() === wanted);
}

// This product's extensions of the EventHub action.

/** defender (the built-in export's shapes, default), api (the ARM record), or xdr (the Defender XDR envelope). */
export const EVENT_HUB_FORMATS = ["defender", "api", "xdr"] as const;
export type EventHubFormat = (typeof EVENT_HUB_FORMATS)[number];

/** Findings in the camelCase ARM form (default) or the PascalCase form. */
export const FINDINGS_SHAPES = ["camel", "pascal"] as const;
export type FindingsShape = (typeof FINDINGS_SHAPES)[number];
