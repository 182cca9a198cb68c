import { describe, expect, it } from "vitest";
import { DATA_TYPES } from "../../src/datatypes/registry.js";
import { bicepFiles, callArguments, declarations, infraText, property } from "./bicep.js";

const assignments = () =>
  [...bicepFiles()].flatMap(([file, text]) =>
    declarations(text)
      .filter((d) => d.kind === "resource" && d.target.startsWith("Microsoft.Authorization/roleAssignments@"))
      .map((d) => ({ file, ...d })),
  );

describe("role assignments", () => {
  it("each is named by a guid of the principal it grants: a new identity (azd down, azd up) gets a new name, never RoleAssignmentUpdateNotPermitted", () => {
    const found = assignments();
    expect(found.length).toBeGreaterThanOrEqual(7);
    for (const a of found) {
      const where = `${a.file}: ${a.symbol}`;
      const principal = property(property(a.body, "properties")!, "principalId");
      expect(principal, where).toBe("principalId");
      const name = property(a.body, "name")!;
      expect(callArguments(name, "guid"), where).toContain(principal);
    }
  });
});

describe("with monitoredResourceGroups", () => {
  // What the reader requests at the subscription (or the tenant) whatever the export's scope, and the action each
  // needs. Alerts, assessments and sub-assessments are read at the scope itself (Security Reader on the group).
  const atScope = ["alerts", "assessments", "subAssessments"];
  const atSubscription: Record<string, string[]> = {
    secureScores: ["Microsoft.Security/secureScores/read"],
    // ?$expand=definition embeds each control's definition.
    secureScoreControls: ["Microsoft.Security/secureScoreControls/read", "Microsoft.Security/secureScoreControlDefinitions/read"],
    regulatoryComplianceStandards: [
      "Microsoft.Security/regulatoryComplianceStandards/read",
      "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/read",
      "Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments/read",
    ],
    // Both /providers/Microsoft.Security/assessmentMetadata (tenant) and the subscription's.
    assessmentMetadata: ["Microsoft.Security/assessmentMetadata/read"],
    // Resource Graph shows a caller the rows it may read: attack paths are the subscription's.
    "resourceGraph microsoft.security/attackpaths": ["Microsoft.Security/attackPaths/read"],
  };

  it("a custom role grants on the subscription exactly the Microsoft.Security reads the reader makes there", () => {
    // The reads are the data types' read plans (src/datatypes/).
    const plans = DATA_TYPES.map((d) => d.read);
    const listedAt = (level: "scope" | "subscription") => plans.flatMap((p) => (p.kind === "armList" && p.level === level ? [p.list] : []));
    const nested = plans.flatMap((p) => (p.kind === "armNestedList" ? [p] : []));
    const metadata = DATA_TYPES.flatMap((d) => (d.metadata === undefined ? [] : [d.metadata.list]));
    expect(listedAt("scope").sort()).toEqual([...atScope].sort());
    // Attack paths are subscription resources, for a resource group scope too (it selects those through its resources).
    const graph = plans.flatMap((p) => (p.kind === "resourceGraph" ? [`resourceGraph ${p.type}`] : []));
    expect([...listedAt("subscription"), ...nested.map((p) => p.parents), ...metadata, ...graph].sort()).toEqual(Object.keys(atSubscription).sort());
    expect(nested.map((p) => [p.children, p.records])).toEqual([["regulatoryComplianceControls", "regulatoryComplianceAssessments"]]);
    expect(plans.some((p) => p.kind === "armList" && p.list === "secureScoreControls" && p.query === "$expand=definition")).toBe(true);

    // One wildcard, as Security Reader has it (a role naming an action ARM has not registered is refused whole,
    // and the compliance reads are not in the published list): it must cover every read, and only reads of
    // Microsoft.Security.
    const role = JSON.parse(infraText("subscription-reads-role.json")) as { actions: string[] };
    expect(role.actions).toEqual(["Microsoft.Security/*/read"]);
    const covers = (pattern: string, action: string) =>
      new RegExp(
        `^${pattern
          .split("*")
          .map((p) => p.replace(/[.]/g, "\\."))
          .join("[^]*")}$`,
        "i",
      ).test(action);
    for (const action of Object.values(atSubscription).flat())
      expect(
        role.actions.some((p) => covers(p, action)),
        action,
      ).toBe(true);
    for (const outside of ["Microsoft.OperationalInsights/workspaces/read", "Microsoft.Security/pricings/write", "Microsoft.Security/automations/write"]) {
      expect(
        role.actions.some((p) => covers(p, outside)),
        outside,
      ).toBe(false);
    }

    const main = declarations(infraText("main.bicep"));
    const definition = main.find((d) => d.target.startsWith("Microsoft.Authorization/roleDefinitions@"))!;
    expect(definition.condition).toBe("!empty(monitoredResourceGroups)");
    expect(property(definition.body, "permissions")).toBe("[ { actions: subscriptionReads.actions, notActions: [], dataActions: [], notDataActions: [] } ]");
    expect(property(definition.body, "assignableScopes")).toBe("[ subscription().id ]");
    const assignment = main.find((d) => d.kind === "module" && property(d.body, "params")?.includes(`role: ${definition.symbol}.name`));
    expect(assignment?.target).toBe("app/subscription-role.bicep");
    expect(assignment?.condition).toBe(definition.condition);
    // Security Reader stays on the groups only.
    const securityReader = main.find((d) => d.target === "app/subscription-role.bicep" && property(d.body, "params")?.includes("roles.securityReader"));
    expect(securityReader?.condition).toBe("empty(monitoredResourceGroups)");
  });
});

describe("at a management group (issue 17)", () => {
  it("a template of its own, run with the management group deployment command, grants the app's identity Security Reader there by default", () => {
    const text = infraText("management-group/reader.bicep");
    expect(text).toMatch(/^targetScope = 'managementGroup'$/m);
    expect(text).toContain("az deployment mg create --management-group-id");
    expect(text).toMatch(/param role string = loadJsonContent\('\.\.\/roles\.json'\)\.securityReader/);
    const [assignment] = declarations(text).filter((d) => d.target.startsWith("Microsoft.Authorization/roleAssignments@"));
    expect(callArguments(property(assignment!.body, "name")!, "guid")).toEqual(["managementGroup().id", "principalId", "role"]);
    expect(property(property(assignment!.body, "properties")!, "roleDefinitionId")).toBe("tenantResourceId('Microsoft.Authorization/roleDefinitions', role)");
    // What the template asks for, main.bicep gives azd's environment.
    expect(infraText("main.bicep")).toMatch(/^output SERVICE_API_IDENTITY_PRINCIPAL_ID string = identity\.outputs\.principalId$/m);
  });
});
