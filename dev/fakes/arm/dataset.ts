import { readFileSync } from "node:fs";
import { makeAttackPath, type AttackPathScope } from "./attack-paths.js";

type Json = Record<string, unknown>;

/** A list the fake serves: its length and its i-th item, made on demand so that large sets cost no memory. */
export interface Collection {
  count: number;
  at(index: number): Json;
}

interface Templates {
  alerts: Json[];
  assessments: Json[];
  assessmentMetadata: Json[];
  subAssessments: Json[];
  secureScores: Json[];
  secureScoreControls: Json[];
  secureScoreControlDefinitions: Json[];
  regulatoryComplianceStandards: Json[];
  regulatoryComplianceControls: Json[];
  regulatoryComplianceAssessments: Json[];
}

/** The real API example payloads the synthetic records are shaped after. */
export const TEMPLATES = JSON.parse(readFileSync(new URL("./data/templates.json", import.meta.url), "utf8")) as Templates;

export interface DatasetOptions {
  subscriptionId?: string;
  resourceGroups?: string[];
  alerts?: number;
  assessments?: number;
  subAssessments?: number;
  /** Assessment keys the assessments cycle through; default: the metadata's names. A key without metadata tests the join. */
  assessmentKeys?: string[];
  /** Keys of custom assessments: their metadata is the subscription's own (its assessmentMetadata list), not the tenant's. */
  customAssessmentKeys?: string[];
  /** Every Nth assessment (index N-1, 2N-1, ...) assesses an on-premises machine instead of an Azure resource; 0 = none. */
  onPremiseAssessmentEvery?: number;
  /** Parent assessment keys of the findings; default: the template findings' parents. */
  findingParents?: string[];
  standards?: number;
  controlsPerStandard?: number;
  assessmentsPerControl?: number;
  /** The tenant Resource Graph rows carry. */
  tenantId?: string;
  /** Attack paths (Resource Graph only); default 4. */
  attackPaths?: number;
  /** Every Nth attack path (index N-1, 2N-1, ...) has a graph whose JSON is over 32 KB; 0 = none. */
  largeAttackPathEvery?: number;
  /** Indexes of attack paths whose JSON is over 1 MB. */
  hugeAttackPaths?: number[];
}

export const DEFAULT_SUBSCRIPTION = "20ff7fc3-e762-44dd-bd96-b71116dcdc23";
export const DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SEVERITIES = ["High", "Medium", "Low", "Informational"];
const ASSESSMENT_STATES = ["Unhealthy", "Healthy", "NotApplicable"];
const COMPLIANCE_STATES = ["Failed", "Passed", "Skipped"];

/** A deterministic GUID for record i of a kind. */
export function guid(kind: number, i: number): string {
  return `${kind.toString(16).padStart(8, "0")}-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The collection, telling `onChange` of every call to its mutating methods: what was computed from the data can be kept until it changes. */
function watched<T extends object>(collection: T, mutators: readonly string[], onChange: () => void): T {
  for (const name of mutators) {
    const original = Reflect.get(collection, name) as (...args: unknown[]) => unknown;
    Object.defineProperty(collection, name, {
      value: (...args: unknown[]) => {
        onChange();
        return original.apply(collection, args);
      },
    });
  }
  return collection;
}

/**
 * A subscription's worth of Defender for Cloud data, synthesized from the real payloads' shapes:
 * record i of each kind is the same on every call, spread round-robin over the resource groups.
 */
export class SyntheticDataset {
  readonly subscriptionId: string;
  readonly resourceGroups: string[];
  /** Mutable: lowering a size removes the last records of that kind (a removal, for the engine's tests). */
  readonly sizes: Required<Pick<DatasetOptions, "alerts" | "assessments" | "subAssessments" | "standards" | "controlsPerStandard" | "assessmentsPerControl" | "attackPaths">>;
  /** Changes to records over time: "alert:3" → a function that edits the made record (a pure function of the record). */
  readonly patches: Map<string, (record: Json) => void> = watched(new Map<string, (record: Json) => void>(), ["set", "delete", "clear"], () => this.#version++);
  readonly assessmentKeys: string[];
  readonly findingParents: string[];
  readonly customAssessmentKeys: string[];
  readonly tenantId: string;
  readonly #onPremiseAssessmentEvery: number;
  readonly #largeAttackPathEvery: number;
  readonly #hugeAttackPaths: Set<number>;
  #version = 0;

  /** Bumped by every change to sizes, patches and resolved attack paths: the same version makes the same records. */
  get version(): number {
    return this.#version;
  }

  constructor(options: DatasetOptions = {}) {
    this.subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION;
    this.resourceGroups = options.resourceGroups ?? ["myRg1", "myRg2"];
    const sizes = {
      alerts: options.alerts ?? 6,
      assessments: options.assessments ?? 6,
      subAssessments: options.subAssessments ?? 4,
      standards: options.standards ?? TEMPLATES.regulatoryComplianceStandards.length,
      controlsPerStandard: options.controlsPerStandard ?? TEMPLATES.regulatoryComplianceControls.length,
      assessmentsPerControl: options.assessmentsPerControl ?? TEMPLATES.regulatoryComplianceAssessments.length,
      attackPaths: options.attackPaths ?? 4,
    };
    this.sizes = new Proxy(sizes, {
      set: (target, key, value) => {
        this.#version++;
        return Reflect.set(target, key, value);
      },
    });
    this.tenantId = options.tenantId ?? DEFAULT_TENANT;
    this.#largeAttackPathEvery = options.largeAttackPathEvery ?? 0;
    this.#hugeAttackPaths = new Set(options.hugeAttackPaths ?? []);
    this.assessmentKeys = options.assessmentKeys ?? TEMPLATES.assessmentMetadata.map((m) => String(m["name"]));
    this.customAssessmentKeys = options.customAssessmentKeys ?? [];
    this.#onPremiseAssessmentEvery = options.onPremiseAssessmentEvery ?? 0;
    this.findingParents = options.findingParents ?? TEMPLATES.subAssessments.map((s) => /\/assessments\/([^/]+)\//i.exec(String(s["id"]))![1]!);
  }

  get subscriptionPath(): string {
    return `/subscriptions/${this.subscriptionId}`;
  }

  #resourceGroupOf(i: number): string {
    return this.resourceGroups[i % this.resourceGroups.length]!;
  }

  /** The items of `total` that fall in resource group `rg` (all of them without one). */
  #scoped(total: number, rg: string | undefined, make: (i: number) => Json): Collection {
    if (rg === undefined) return { count: total, at: make };
    const k = this.resourceGroups.findIndex((g) => g.toLowerCase() === rg.toLowerCase());
    if (k < 0) return { count: 0, at: make };
    const r = this.resourceGroups.length;
    return { count: Math.max(0, Math.ceil((total - k) / r)), at: (j) => make(j * r + k) };
  }

  #vm(i: number, group: number): string {
    return `${this.subscriptionPath}/resourceGroups/${this.#resourceGroupOf(i)}/providers/Microsoft.Compute/virtualMachines/vm${group}`;
  }

  alerts(rg?: string): Collection {
    return this.#scoped(this.sizes.alerts, rg, (i) => this.alert(i));
  }

  #patched(kind: string, i: number, record: Json): Json {
    this.patches.get(`${kind}:${i}`)?.(record);
    return record;
  }

  alert(i: number): Json {
    return this.#patched("alert", i, this.#alert(i));
  }

  #alert(i: number): Json {
    const a = clone(TEMPLATES.alerts[i % TEMPLATES.alerts.length]!);
    const name = `${2518000000000000000 + i}_${guid(1, i)}`;
    const rg = this.#resourceGroupOf(i);
    const vm = this.#vm(i, i);
    a["name"] = name;
    a["id"] = `${this.subscriptionPath}/resourceGroups/${rg}/providers/Microsoft.Security/locations/westeurope/alerts/${name}`;
    const p = a["properties"] as Json;
    p["systemAlertId"] = name;
    p["severity"] = SEVERITIES[i % SEVERITIES.length];
    p["compromisedEntity"] = `vm${i}`;
    p["status"] = "Active";
    const identifiers = p["resourceIdentifiers"];
    if (Array.isArray(identifiers)) {
      for (const id of identifiers as Json[]) if (id["type"] === "AzureResource") id["azureResourceId"] = vm;
    }
    return a;
  }

  assessments(rg?: string): Collection {
    return this.#scoped(this.sizes.assessments, rg, (i) => this.assessment(i));
  }

  assessment(i: number): Json {
    return this.#patched("assessment", i, this.#assessment(i));
  }

  #assessment(i: number): Json {
    const a = clone(TEMPLATES.assessments[i % TEMPLATES.assessments.length]!);
    const key = this.assessmentKeys[i % this.assessmentKeys.length]!;
    const resource = this.#vm(i, Math.floor(i / this.assessmentKeys.length));
    a["name"] = key;
    a["id"] = `${resource}/providers/Microsoft.Security/assessments/${key}`;
    const p = a["properties"] as Json;
    const every = this.#onPremiseAssessmentEvery;
    // The spec's OnPremiseResourceDetails (security-Assessment definitions): the machine, its agent and workspace.
    p["resourceDetails"] =
      every > 0 && (i + 1) % every === 0
        ? {
            source: "OnPremise",
            workspaceId: `${this.subscriptionPath}/resourceGroups/${this.#resourceGroupOf(i)}/providers/Microsoft.OperationalInsights/workspaces/ws`,
            vmuuid: guid(5, i),
            sourceComputerId: guid(6, i),
            machineName: `onprem${i}`,
          }
        : { source: "Azure", id: resource };
    p["status"] = { code: ASSESSMENT_STATES[i % ASSESSMENT_STATES.length] };
    return a;
  }

  assessmentMetadata(): Collection {
    return { count: TEMPLATES.assessmentMetadata.length, at: (i) => clone(TEMPLATES.assessmentMetadata[i]!) };
  }

  /** The subscription's own assessment metadata: the custom assessments'. */
  subscriptionAssessmentMetadata(): Collection {
    const keys = this.customAssessmentKeys;
    return {
      count: keys.length,
      at: (i) => ({
        id: `${this.subscriptionPath}/providers/Microsoft.Security/assessmentMetadata/${keys[i]!}`,
        name: keys[i]!,
        type: "Microsoft.Security/assessmentMetadata",
        properties: { displayName: `Custom assessment ${i}`, description: "A custom assessment", assessmentType: "CustomerManaged", severity: SEVERITIES[i % 3], categories: ["Compute"] },
      }),
    };
  }

  subAssessments(rg?: string): Collection {
    return this.#scoped(this.sizes.subAssessments, rg, (i) => this.subAssessment(i));
  }

  subAssessment(i: number): Json {
    return this.#patched("subAssessment", i, this.#subAssessment(i));
  }

  #subAssessment(i: number): Json {
    const s = clone(TEMPLATES.subAssessments[i % TEMPLATES.subAssessments.length]!);
    const parent = this.findingParents[i % this.findingParents.length]!;
    const name = guid(3, i);
    s["name"] = name;
    s["id"] = `${this.#vm(i, Math.floor(i / 10))}/providers/Microsoft.Security/assessments/${parent}/subAssessments/${name}`;
    const p = s["properties"] as Json;
    p["id"] = `finding-${i}`;
    p["status"] = { ...(p["status"] as Json), severity: SEVERITIES[i % 3], code: i % 5 === 0 ? "Healthy" : "Unhealthy" };
    return s;
  }

  secureScores(): Collection {
    return { count: TEMPLATES.secureScores.length, at: (i) => this.#patched("secureScore", i, this.#own(clone(TEMPLATES.secureScores[i]!))) };
  }

  /** A template record with this subscription in its id, as each subscription's score and controls have theirs. */
  #own(record: Json): Json {
    record["id"] = String(record["id"]).replace(/^\/subscriptions\/[^/]+/i, this.subscriptionPath);
    return record;
  }

  secureScoreControls(expandDefinition: boolean): Collection {
    const definitions = new Map(TEMPLATES.secureScoreControlDefinitions.map((d) => [String(d["name"]), d]));
    return {
      count: TEMPLATES.secureScoreControls.length,
      at: (i) => {
        const c = this.#own(clone(TEMPLATES.secureScoreControls[i]!));
        if (expandDefinition) {
          const name = String(c["name"]);
          const p = c["properties"] as Json;
          p["definition"] = clone(
            definitions.get(name) ?? {
              id: `/providers/Microsoft.Security/secureScoreControlDefinitions/${name}`,
              name,
              type: "Microsoft.Security/secureScoreControlDefinitions",
              properties: { displayName: p["displayName"], maxScore: (p["score"] as Json)["max"], source: { sourceType: "BuiltIn" }, assessmentDefinitions: [] },
            },
          );
        }
        return c;
      },
    };
  }

  #standardName(s: number): string {
    const template = TEMPLATES.regulatoryComplianceStandards[s % TEMPLATES.regulatoryComplianceStandards.length]!;
    return s < TEMPLATES.regulatoryComplianceStandards.length ? String(template["name"]) : `${String(template["name"])}-${s}`;
  }

  standards(): Collection {
    return {
      count: this.sizes.standards,
      at: (s) => {
        const st = clone(TEMPLATES.regulatoryComplianceStandards[s % TEMPLATES.regulatoryComplianceStandards.length]!);
        st["name"] = this.#standardName(s);
        st["id"] = `${this.subscriptionPath}/providers/Microsoft.Security/regulatoryComplianceStandards/${st["name"] as string}`;
        return st;
      },
    };
  }

  #standardIndex(name: string): number {
    for (let s = 0; s < this.sizes.standards; s++) if (this.#standardName(s).toLowerCase() === name.toLowerCase()) return s;
    return -1;
  }

  #controlName(c: number): string {
    const template = TEMPLATES.regulatoryComplianceControls[c % TEMPLATES.regulatoryComplianceControls.length]!;
    return c < TEMPLATES.regulatoryComplianceControls.length ? String(template["name"]) : `${String(template["name"])}.${c}`;
  }

  controls(standard: string): Collection | undefined {
    const s = this.#standardIndex(standard);
    if (s < 0) return undefined;
    const std = this.#standardName(s);
    return {
      count: this.sizes.controlsPerStandard,
      at: (c) => {
        const ctl = clone(TEMPLATES.regulatoryComplianceControls[c % TEMPLATES.regulatoryComplianceControls.length]!);
        ctl["name"] = this.#controlName(c);
        ctl["id"] = `${this.subscriptionPath}/providers/Microsoft.Security/regulatoryComplianceStandards/${std}/regulatoryComplianceControls/${ctl["name"] as string}`;
        return ctl;
      },
    };
  }

  complianceAssessments(standard: string, control: string): Collection | undefined {
    const s = this.#standardIndex(standard);
    if (s < 0) return undefined;
    let c = -1;
    for (let k = 0; k < this.sizes.controlsPerStandard; k++) if (this.#controlName(k).toLowerCase() === control.toLowerCase()) c = k;
    if (c < 0) return undefined;
    const std = this.#standardName(s);
    const ctl = this.#controlName(c);
    return {
      count: this.sizes.assessmentsPerControl,
      at: (a) => {
        const asm = clone(TEMPLATES.regulatoryComplianceAssessments[a % TEMPLATES.regulatoryComplianceAssessments.length]!);
        const name = guid(4, (s * 1000 + c) * 1000 + a);
        asm["name"] = name;
        asm["id"] = `${this.subscriptionPath}/providers/Microsoft.Security/regulatoryComplianceStandards/${std}/regulatoryComplianceControls/${ctl}/regulatoryComplianceAssessments/${name}`;
        (asm["properties"] as Json)["state"] = COMPLIANCE_STATES[(s + c + a) % COMPLIANCE_STATES.length];
        return asm;
      },
    };
  }

  /** Attack paths resolved meanwhile (indexes): left out wherever they are, not only at the end. */
  readonly resolvedAttackPaths: Set<number> = watched(new Set<number>(), ["add", "delete", "clear"], () => this.#version++);

  attackPaths(): Collection {
    if (this.resolvedAttackPaths.size === 0) return { count: this.sizes.attackPaths, at: (i) => this.attackPath(i) };
    const kept = Array.from({ length: this.sizes.attackPaths }, (_, i) => i).filter((i) => !this.resolvedAttackPaths.has(i));
    return { count: kept.length, at: (j) => this.attackPath(kept[j]!) };
  }

  attackPath(i: number): Json {
    const scope: AttackPathScope = { tenantId: this.tenantId, subscriptionId: this.subscriptionId, resourceGroups: this.resourceGroups, assessmentKeys: this.assessmentKeys };
    const every = this.#largeAttackPathEvery;
    const size = this.#hugeAttackPaths.has(i) ? "huge" : every > 0 && (i + 1) % every === 0 ? "large" : "normal";
    return this.#patched("attackPath", i, makeAttackPath(scope, i, size));
  }

  /** How many compliance assessments the whole hierarchy holds. */
  get complianceAssessmentCount(): number {
    return this.sizes.standards * this.sizes.controlsPerStandard * this.sizes.assessmentsPerControl;
  }
}
