import { z } from "zod";
import { SEVERITIES, type EventSource, type Severity } from "./enums.js";
import type { Rule, RuleSet, Source } from "./model.js";
import { caseInsensitiveEnum, describe, nonEmptyString, show } from "./zod-helpers.js";

/**
 * The simple form: the parameters of the built-in Azure Policy definitions that deploy continuous
 * export ("Deploy export to Event Hub / Log Analytics workspace for Microsoft Defender for Cloud data"),
 * compiled to sources exactly as their templates do.
 */

/** exportedDataTypes display values → eventSource, in the order of the policy's default value. */
export const POLICY_DATA_TYPES = {
  "Security recommendations": "Assessments",
  "Security alerts": "Alerts",
  "Overall secure score": "SecureScores",
  "Secure score controls": "SecureScoreControls",
  "Regulatory compliance": "RegulatoryComplianceAssessment",
  "Overall secure score - snapshot": "SecureScoresSnapshot",
  "Secure score controls - snapshot": "SecureScoreControlsSnapshot",
  "Regulatory compliance - snapshot": "RegulatoryComplianceAssessmentSnapshot",
  "Security recommendations - snapshot": "AssessmentsSnapshot",
  "Security findings - snapshot": "SubAssessmentsSnapshot",
} as const satisfies Record<string, EventSource>;
export type PolicyDataType = keyof typeof POLICY_DATA_TYPES;

const DATA_TYPE_NAMES = Object.keys(POLICY_DATA_TYPES) as PolicyDataType[];

/** The policy's default for exportedDataTypes (version 4.0.0): the first eight, which has no snapshot of recommendations or findings. */
export const POLICY_DEFAULT_DATA_TYPES: readonly PolicyDataType[] = DATA_TYPE_NAMES.slice(0, 8);

/** The parameters that steer the export; the policy's resource-group parameters are accepted and have no effect here. */
export const POLICY_PARAMETERS = [
  "exportedDataTypes",
  "recommendationNames",
  "recommendationSeverities",
  "isSecurityFindingsEnabled",
  "secureScoreControlsNames",
  "alertSeverities",
  "regulatoryComplianceStandardsNames",
] as const;
export const POLICY_DESTINATION_PARAMETERS = ["workspaceResourceId", "eventHubDetails"] as const;
export const POLICY_IGNORED_PARAMETERS = ["resourceGroupName", "resourceGroupLocation", "createResourceGroup"] as const;

const names = (what: string) =>
  z.array(nonEmptyString(`a ${what}`), { error: (i) => `expected ${what}s (an array of strings), got ${describe(i.input)}` }).superRefine((list, ctx) => duplicates(list, ctx, what));

const severities = (what: string) =>
  z
    .array(caseInsensitiveEnum(SEVERITIES, "severity"), {
      error: (i) => `expected ${what} (an array of High, Medium, Low), got ${describe(i.input)}`,
    })
    .min(1, { message: `${what} must list at least one of High, Medium, Low (the policy cannot deploy with none); leave it out for all` })
    .superRefine((list, ctx) => duplicates(list, ctx, "severity"));

function duplicates(list: readonly string[], ctx: z.RefinementCtx, what: string): void {
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const key = item.toLowerCase();
    if (seen.has(key)) ctx.addIssue({ code: "custom", path: [index], message: `${what} ${show(item)} is listed twice` });
    seen.add(key);
  });
}

export const policyParametersShape = {
  exportedDataTypes: z
    .array(caseInsensitiveEnum(DATA_TYPE_NAMES, "exported data type"), {
      error: (i) => `expected exportedDataTypes (an array of data type names), got ${describe(i.input)}`,
    })
    .superRefine((list, ctx) => duplicates(list, ctx, "data type"))
    .optional(),
  recommendationNames: names("recommendation name").optional(),
  recommendationSeverities: severities("recommendationSeverities").optional(),
  isSecurityFindingsEnabled: z.boolean({ error: (i) => `expected isSecurityFindingsEnabled (true or false), got ${describe(i.input)}` }).optional(),
  secureScoreControlsNames: names("secure score control name").optional(),
  alertSeverities: severities("alertSeverities").optional(),
  regulatoryComplianceStandardsNames: names("regulatory compliance standard name").optional(),
};

type PolicyParameters = {
  exportedDataTypes?: PolicyDataType[] | undefined;
  recommendationNames?: string[] | undefined;
  recommendationSeverities?: Severity[] | undefined;
  isSecurityFindingsEnabled?: boolean | undefined;
  secureScoreControlsNames?: string[] | undefined;
  alertSeverities?: Severity[] | undefined;
  regulatoryComplianceStandardsNames?: string[] | undefined;
};

const rule = (propertyJPath: string, expectedValue: string, operator: Rule["operator"]): Rule => ({
  propertyJPath,
  propertyType: "String",
  expectedValue,
  operator,
});

/** Compiles the policy parameters to sources as the policy template does (variables dataTypeMap and ruleSets*). */
export function compilePolicySources(params: PolicyParameters): Source[] {
  const dataTypes = params.exportedDataTypes ?? POLICY_DEFAULT_DATA_TYPES;
  const recommendationNames = params.recommendationNames ?? [];
  const recommendationSeverities = params.recommendationSeverities ?? SEVERITIES;
  const alertSeverities = params.alertSeverities ?? SEVERITIES;
  const controls = params.secureScoreControlsNames ?? [];
  const standards = params.regulatoryComplianceStandardsNames ?? [];

  // Names × severities, names outer: ruleSet k takes name (k div |sev|) mod |names| and severity k mod |sev|.
  const assessmentRuleSets: RuleSet[] = [];
  const nameCount = Math.max(1, recommendationNames.length);
  for (let k = 0; k < nameCount * recommendationSeverities.length; k++) {
    const name = recommendationNames[Math.floor(k / recommendationSeverities.length) % nameCount];
    const severity = recommendationSeverities[k % recommendationSeverities.length]!;
    assessmentRuleSets.push({
      rules: [name === undefined ? rule("type", "Microsoft.Security/assessments", "Contains") : rule("name", name, "Contains"), rule("properties.metadata.severity", severity, "Equals")],
    });
  }
  const findingRuleSets: RuleSet[] | null = recommendationNames.length === 0 ? null : recommendationNames.map((n) => ({ rules: [rule("id", `/assessments/${n}/`, "Contains")] }));
  const alertRuleSets: RuleSet[] = alertSeverities.map((s) => ({ rules: [rule("Severity", s.toLowerCase(), "Equals")] }));
  const controlRuleSets: RuleSet[] | null = controls.length === 0 ? null : controls.map((c) => ({ rules: [rule("name", c, "Equals")] }));
  const standardRuleSets: RuleSet[] | null = standards.length === 0 ? null : standards.map((s) => ({ rules: [rule("id", s, "Contains")] }));

  const ruleSetsFor: Record<EventSource, RuleSet[] | null> = {
    Assessments: assessmentRuleSets,
    AssessmentsSnapshot: assessmentRuleSets,
    SubAssessments: findingRuleSets,
    SubAssessmentsSnapshot: findingRuleSets,
    Alerts: alertRuleSets,
    SecureScores: null,
    SecureScoresSnapshot: null,
    SecureScoreControls: controlRuleSets,
    SecureScoreControlsSnapshot: controlRuleSets,
    RegulatoryComplianceAssessment: standardRuleSets,
    RegulatoryComplianceAssessmentSnapshot: standardRuleSets,
    AttackPaths: null,
    AttackPathsSnapshot: null,
  };
  const source = (eventSource: EventSource): Source => ({ eventSource, ruleSets: structuredClone(ruleSetsFor[eventSource]) });

  const sources = dataTypes.map((t) => source(POLICY_DATA_TYPES[t]));
  // The template concatenates the findings source in front of the others.
  if (params.isSecurityFindingsEnabled ?? true) sources.unshift(source("SubAssessments"));
  return sources;
}

/** The policy's eventHubDetails is an authorization rule id; its first ten segments are the hub's id. */
export function eventHubIdFromAuthorizationRule(ruleId: string): string | undefined {
  const parts = ruleId.trim().split("/");
  if (parts.length < 11 || parts[0] !== "" || parts[6]?.toLowerCase() !== "microsoft.eventhub") return undefined;
  return parts.slice(0, 11).join("/");
}
