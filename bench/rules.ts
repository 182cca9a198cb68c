import { readFileSync, readdirSync } from "node:fs";
import { parseExportConfiguration } from "../src/config/parse.js";
import type { ExportConfiguration } from "../src/config/model.js";
import { classifyRecord } from "../src/datatypes/registry.js";
import { compileConfiguration, type CompiledConfiguration } from "../src/rules/configuration.js";
import type { Figure } from "./figures.js";

type Json = Record<string, unknown>;

/** Real-shaped records: the bundled API payloads, varied in id, name and severity. */
function records(count: number): unknown[] {
  const dir = new URL("../examples/records/", import.meta.url);
  const all = readdirSync(dir)
    .sort()
    .flatMap((f) => (JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { value: Json[] }).value);
  const metadata = new Map(all.filter((r) => classifyRecord(r).kind === "metadata").map((m) => [m["name"], m["properties"]]));
  const exported = all
    .filter((r) => classifyRecord(r).kind === "exported")
    .map((r) => (classifyRecord(r).kind === "exported" && metadata.has(r["name"]) ? { ...r, properties: { ...(r["properties"] as Json), metadata: metadata.get(r["name"]) } } : r));
  const severities = ["High", "Medium", "Low", "Informational"];
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const base = structuredClone(exported[i % exported.length]!) as Json;
    base["id"] = `${String(base["id"])}-${i}`;
    const props = base["properties"] as Json;
    if (typeof props["severity"] === "string") props["severity"] = severities[i % 4];
    if (props["metadata"] !== undefined) (props["metadata"] as Json)["severity"] = severities[i % 3];
    out.push(base);
  }
  return out;
}

function configuration(params: Json): ExportConfiguration {
  const result = parseExportConfiguration(params);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration;
}

function evaluateAll(rules: CompiledConfiguration, input: readonly unknown[]): number {
  let selected = 0;
  for (const record of input) {
    const cls = classifyRecord(record);
    if (cls.kind !== "exported") continue;
    for (const source of rules.sourcesFor(cls.dataType)) if (source.matches(record)) selected++;
  }
  return selected;
}

function measure(name: string, params: Json, input: readonly unknown[]): Figure[] {
  const config = configuration(params);
  let evaluations = 0;
  const counted = compileConfiguration(config, { onRuleEvaluated: () => evaluations++ });
  const selected = evaluateAll(counted, input);
  const rules = compileConfiguration(config);
  for (let i = 0; i < 3; i++) evaluateAll(rules, input); // warm up the JIT
  const rounds = 20;
  const start = process.cpuUsage();
  let check = 0;
  for (let i = 0; i < rounds; i++) check += evaluateAll(rules, input);
  const used = process.cpuUsage(start);
  if (check !== selected * rounds) throw new Error("the counted and the plain engine disagree");
  const seconds = (used.user + used.system) / 1e6;
  return [
    { name: `rules.${name}.evaluations_per_second`, value: (evaluations * rounds) / seconds, unit: "evaluations/s", target: { op: ">=", value: 2_000_000 } },
    { name: `rules.${name}.records_per_second`, value: (input.length * rounds) / seconds, unit: "records/s" },
    { name: `rules.${name}.evaluations_per_record`, value: evaluations / input.length, unit: "evaluations" },
  ];
}

export function run(): Figure[] {
  const input = records(20_000);
  return [
    ...measure("policy_defaults", { isSecurityFindingsEnabled: true }, input),
    ...measure(
      "policy_names_by_severities",
      {
        exportedDataTypes: ["Security recommendations", "Security alerts", "Secure score controls"],
        recommendationNames: ["21300918-b2e3-0346-785f-c77ff57d243b", "bc303248-3d14-44c2-96a0-55f5c326b5fe", "ca039e75-a276-4175-aebc-bcd41e4b14b7", "4fb67663-9ab9-475d-b026-8c544cced439"],
        recommendationSeverities: ["High", "Medium"],
        alertSeverities: ["High", "Medium"],
        secureScoreControlsNames: ["Enable MFA", "34a42fb3-e6db-409c-b56b-7b1db6b8aee0"],
      },
      input,
    ),
  ];
}
