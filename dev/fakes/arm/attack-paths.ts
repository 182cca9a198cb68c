// Synthetic attack paths as Resource Graph holds them (securityresources, type microsoft.security/attackpaths).
// There is no ARM REST API and no captured record: the shape follows Microsoft's attack-path-api.md table, the
// fields Microsoft's CSPM workbook and public queries read (riskLevel, riskFactors, attackStory,
// mITRETacticsAndTechniques) and the composed example of the project's attack-path notes. Values are made up.

type Json = Record<string, unknown>;

/** What a path refers to in its dataset: the subscription's resource groups and assessment keys. */
export interface AttackPathScope {
  tenantId: string;
  subscriptionId: string;
  resourceGroups: string[];
  assessmentKeys: string[];
}

/** How big a path's graph is: large is over 32 KB of JSON, huge over 1 MB. */
export type AttackPathSize = "normal" | "large" | "huge";

export const RISK_LEVELS = ["Critical", "High", "Medium", "Low"];

type Kind = "internet" | "vm" | "identity" | "keyvault" | "storage" | "sql" | "pod" | "image";

interface Scenario {
  displayName: string;
  attackPathType: string;
  riskFactors: string[];
  riskCategories: string[];
  potentialImpact: string;
  mitre: string[];
  /** The entities after the internet, entry point first. */
  chain: Kind[];
}

// [displayName, potentialImpact, riskFactors, riskCategories, MITRE, chain]: the scenarios instances share.
const SCENARIO_ROWS: [string, string, string[], string[], string[], Kind[]][] = [
  [
    "Internet exposed VM with high severity vulnerabilities and read permission to a Key Vault",
    "An attacker can take over the virtual machine and read the secrets of the key vault.",
    ["Internet exposure", "Vulnerabilities", "Lateral movement"],
    ["Data exposure", "Credential theft"],
    ["Initial Access", "T1190", "Credential Access", "T1555"],
    ["vm", "identity", "keyvault"],
  ],
  [
    "Internet exposed VM with high severity vulnerabilities has read permission to a storage account with sensitive data",
    "An attacker can take over the virtual machine and read sensitive data from the storage account.",
    ["Internet exposure", "Vulnerabilities", "Critical resource"],
    ["Data exposure"],
    ["Initial Access", "T1190", "Collection", "T1530"],
    ["vm", "identity", "storage"],
  ],
  [
    "Internet exposed SQL server with weak authentication allows access to sensitive data",
    "An attacker can sign in to the SQL server and exfiltrate its databases.",
    ["Internet exposure", "Weak authorization"],
    ["Data exposure", "Data breach"],
    ["Initial Access", "T1078", "Exfiltration"],
    ["sql", "storage"],
  ],
  [
    "Internet exposed Kubernetes pod is running a container with high severity vulnerabilities",
    "An attacker can run code in the pod and move to the cluster's other workloads.",
    ["Internet exposure", "Vulnerabilities"],
    ["Compute abuse", "Lateral movement"],
    ["Initial Access", "T1190", "Execution", "T1609"],
    ["pod", "image"],
  ],
];

const SCENARIOS: Scenario[] = SCENARIO_ROWS.map(([displayName, potentialImpact, riskFactors, riskCategories, mitre, chain], n) => ({
  displayName,
  attackPathType: `d8a2e1c4-7f3b-4a6e-9c15-3b7f2e9a1d0${n + 1}`,
  riskFactors,
  riskCategories,
  potentialImpact,
  mitre,
  chain,
}));

// The label of the connection that leads to an entity of a kind.
const TITLES: Record<Kind, string> = {
  internet: "",
  vm: "is exposed to",
  sql: "is exposed to",
  pod: "is exposed to",
  identity: "can authenticate as",
  keyvault: "has permissions to",
  storage: "has permissions to",
  image: "runs",
};

// Entity types as the portal names them; only serviceprincipal and managedidentity are attested.
const ENTITY_TYPES: Record<Kind, string> = {
  internet: "internet",
  vm: "virtualmachine",
  identity: "managedidentity",
  keyvault: "keyvault",
  storage: "storageaccount",
  sql: "sqlserver",
  pod: "kubernetespod",
  image: "containerimage",
};

function hex(i: number, width: number): string {
  return i.toString(16).padStart(width, "0");
}

/** The GUID of attack path i (its name). */
export function attackPathName(i: number): string {
  return `a77ac000-${hex(i >>> 16, 4)}-4000-8000-${hex(i, 12)}`;
}

function resourceOf(scope: AttackPathScope, kind: Kind, i: number, k: number): { name: string; id?: string } {
  // The machine is the one the dataset's alert i names (its resource group is i's); the rest spread further.
  const rg = scope.resourceGroups[(kind === "vm" ? i : i + k) % scope.resourceGroups.length]!;
  const base = `/subscriptions/${scope.subscriptionId}/resourceGroups/${rg}/providers`;
  switch (kind) {
    case "internet":
      return { name: "Internet" };
    case "vm":
      return { name: `vm${i}`, id: `${base}/Microsoft.Compute/virtualMachines/vm${i}` };
    case "identity":
      return { name: `id-app-${i}`, id: `${base}/Microsoft.ManagedIdentity/userAssignedIdentities/id-app-${i}` };
    case "keyvault":
      return { name: `kv-${rg.toLowerCase()}`, id: `${base}/Microsoft.KeyVault/vaults/kv-${rg.toLowerCase()}` };
    case "storage": {
      const name = `st${rg.toLowerCase().replace(/[^a-z0-9]/g, "")}${i % 7}`;
      return { name, id: `${base}/Microsoft.Storage/storageAccounts/${name}` };
    }
    case "sql":
      return { name: `sql-${rg.toLowerCase()}-${i}`, id: `${base}/Microsoft.Sql/servers/sql-${rg.toLowerCase()}-${i}` };
    case "pod":
      return { name: `web-${i}-7d9f`, id: `${base}/Microsoft.ContainerService/managedClusters/aks-${rg.toLowerCase()}` };
    case "image":
      return { name: `webapp:1.${i % 10}`, id: `${base}/Microsoft.ContainerRegistry/registries/acr${rg.toLowerCase().replace(/[^a-z0-9]/g, "")}` };
  }
}

function fileSamples(i: number, count: number): Json[] {
  const samples: Json[] = [];
  for (let n = 0; n < count; n++) {
    samples.push({ path: `container-${n % 5}/exports/2026/${hex(i, 4)}/customers-${n}.csv`, classificationNames: n % 3 === 0 ? ["Credit Card Number", "EU Passport Number"] : ["Email Address"] });
  }
  return samples;
}

/** Attack path i of a scope; the same on every call. */
export function makeAttackPath(scope: AttackPathScope, i: number, size: AttackPathSize): Json {
  const scenario = SCENARIOS[i % SCENARIOS.length]!;
  const name = attackPathName(i);
  const entityId = (k: number) => `${hex(i, 6)}${hex(k, 4)}-ap`;
  const entities: Json[] = [];
  const connections: Json[] = [];
  const insights: Json[] = [];
  const assessments: Record<string, Json[]> = {};
  const names: string[] = [];
  const assessmentOf = (resourceId: string, k: number) => `${resourceId}/providers/Microsoft.Security/assessments/${scope.assessmentKeys[(i + k) % scope.assessmentKeys.length]!}`;

  const addEntity = (kind: Kind, k: number, resource: { name: string; id?: string }) => {
    const identifiers: Json = resource.id === undefined ? {} : { azureResourceId: resource.id, entityStoreUniqueIdentifier: `${hex(i, 8)}-${hex(k, 4)}` };
    if (kind === "identity") identifiers["principalOid"] = `0e1d0000-0000-4000-8000-${hex(i, 12)}`;
    entities.push({ entityInternalId: entityId(k), entityName: resource.name, entityType: ENTITY_TYPES[kind], entityIdentifiers: identifiers });
    if (resource.id !== undefined && kind !== "identity") assessments[entityId(k)] = [{ [assessmentOf(resource.id, k)]: {} }];
  };

  const steps: Kind[] = ["internet", ...scenario.chain];
  steps.forEach((kind, k) => {
    const resource = resourceOf(scope, kind, i, k);
    names.push(resource.name);
    addEntity(kind, k, resource);
    if (k > 0) connections.push({ connectionId: `${hex(i, 6)}c${k}`, sourceEntityInternalId: entityId(k - 1), targetEntityInternalId: entityId(k), title: TITLES[kind] });
    if (kind === "storage") insights.push({ entityInternalId: entityId(k), additionalData: { type: "Sensitivity", fileSamples: fileSamples(i, 5) } });
    if (kind === "vm" || kind === "image") {
      insights.push({
        entityInternalId: entityId(k),
        additionalData: { type: "Vulnerabilities", cveIds: [`CVE-2024-${1000 + (i % 9000)}`, `CVE-2025-${2000 + (i % 7000)}`], highestSeverity: "High" },
      });
    }
  });
  const last = steps.length - 1;
  if (size !== "normal") {
    // A wide blast radius: many more machines reachable from the entry point, each with its own insight.
    // A huge one also reaches storage accounts, each with its sensitive file samples.
    const fanOut = size === "huge" ? 400 : 120;
    for (let n = 0; n < fanOut; n++) {
      const k = steps.length + n;
      const rg = scope.resourceGroups[n % scope.resourceGroups.length]!;
      const provider = `/subscriptions/${scope.subscriptionId}/resourceGroups/${rg}/providers`;
      if (size === "huge") {
        addEntity("storage", k, { name: `st${i}peer${n}`, id: `${provider}/Microsoft.Storage/storageAccounts/st${i}peer${n}` });
        insights.push({ entityInternalId: entityId(k), additionalData: { type: "Sensitivity", fileSamples: fileSamples(i * 1000 + n, 25) } });
      } else {
        addEntity("vm", k, { name: `vm${i}-peer${n}`, id: `${provider}/Microsoft.Compute/virtualMachines/vm${i}-peer${n}` });
        insights.push({ entityInternalId: entityId(k), additionalData: { type: "LateralMovement", protocol: "SSH", port: 22 } });
      }
      connections.push({ connectionId: `${hex(i, 6)}c${k}`, sourceEntityInternalId: entityId(1), targetEntityInternalId: entityId(k), title: size === "huge" ? "has permissions to" : "can reach" });
    }
  }

  const concrete = names.slice(1).map((n) => `'${n}'`);
  return {
    id: `/subscriptions/${scope.subscriptionId}/providers/Microsoft.Security/attackPaths/${name}`,
    name,
    type: "microsoft.security/attackpaths",
    tenantId: scope.tenantId,
    kind: "",
    location: "",
    resourceGroup: "",
    subscriptionId: scope.subscriptionId,
    managedBy: "",
    sku: null,
    plan: null,
    properties: {
      displayName: scenario.displayName,
      description: `${ENTITY_TYPES[scenario.chain[0]!]} ${concrete[0]} is reachable from the internet; through ${concrete.slice(1, -1).join(", ") || "it"} an attacker can reach ${concrete[concrete.length - 1]}.`,
      attackPathType: scenario.attackPathType,
      riskLevel: RISK_LEVELS[i % RISK_LEVELS.length],
      riskFactors: scenario.riskFactors,
      riskCategories: scenario.riskCategories,
      potentialImpact: scenario.potentialImpact,
      attackStory: `An attacker on the internet reaches ${concrete[0]}, ${concrete.length > 2 ? `moves through ${concrete.slice(1, -1).join(", ")} ` : ""}and gets to ${concrete[concrete.length - 1]}.`,
      mITRETacticsAndTechniques: scenario.mitre,
      manualRemediationSteps: [
        `Restrict inbound internet access to ${names[1]}.`,
        `Remediate the high severity vulnerabilities on ${names[1]}.`,
        `Review the permissions that lead to ${names[last]}.`,
      ],
      refreshInterval: "1.00:00:00",
      entryPointEntityInternalID: entityId(1),
      targetEntityInternalID: entityId(last),
      assessments,
      graphComponent: { entities, connections, insights },
    },
    tags: null,
    identity: null,
    zones: null,
    extendedLocation: null,
  };
}
