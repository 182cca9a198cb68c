// What azd does with infra/main.parameters.json, for tests (no azd here). From Azure/azure-dev @ ae35809,
// cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go (loadParameters, evalParamEnvSubst, armParameterFileValue),
// and the substitution of drone/envsubst v1.0.3 (parse/parse.go, funcs.go), limited to the two forms a parameters
// file here may use: ${NAME} and ${NAME=default}, where the default runs to the first "}" and applies when the
// variable is unset or empty.
import { infraText } from "./bicep.js";

export type BicepType = "string" | "bool" | "int" | "array" | "object";

/** The parameters main.bicep declares, with their types. */
export function bicepParameters(text = infraText("main.bicep")): Map<string, BicepType> {
  return new Map([...text.matchAll(/^param (\w+) (string|bool|int|array|object)\b/gm)].map((m) => [m[1]!, m[2] as BicepType]));
}

const REFERENCE = /\$\{([^}]*)\}/g;

/** The ${...} references in a value, refusing any form other than ${NAME} and ${NAME=default}. */
export function references(value: string): { name: string; fallback: string | undefined }[] {
  return [...value.matchAll(REFERENCE)].map((m) => {
    const found = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(m[1]!);
    if (found === null) throw new Error(`unsupported substitution: ${m[0]}`);
    return { name: found[1]!, fallback: found[2] };
  });
}

function substitute(value: string, env: Record<string, string>): { text: string; unset: boolean } {
  let unset = false;
  const text = value.replace(REFERENCE, (whole) => {
    const [{ name, fallback }] = references(whole) as [{ name: string; fallback: string | undefined }];
    if (!(name in env)) unset = true;
    const found = env[name] ?? "";
    return found === "" && fallback !== undefined ? fallback : found;
  });
  return { text, unset };
}

/**
 * The parameters azd passes to the deployment for these environment values: an array or object parameter's
 * "${VAR}" is parsed as JSON after substitution; any other value is substituted inside its JSON; a parameter
 * whose value comes out empty from an unset variable is left out, so the Bicep default applies.
 */
export function azdParameters(env: Record<string, string>): Record<string, unknown> {
  const file = JSON.parse(infraText("main.parameters.json")) as { parameters: Record<string, { value: unknown }> };
  const types = bicepParameters();
  const out: Record<string, unknown> = {};
  for (const [name, parameter] of Object.entries(file.parameters)) {
    const type = types.get(name);
    if ((type === "array" || type === "object") && typeof parameter.value === "string") {
      const { text, unset } = substitute(parameter.value, env);
      if (text === "" && unset) continue;
      out[name] = JSON.parse(text) as unknown; // azd: "value '...' is not valid JSON" otherwise
      continue;
    }
    const { text, unset } = substitute(JSON.stringify(parameter), env);
    const value = (JSON.parse(text) as { value: unknown }).value;
    if (value === undefined || (value === "" && unset)) continue;
    out[name] = type === "bool" && typeof value === "string" ? parseBool(value) : value;
  }
  return out;
}

/** Go's strconv.ParseBool, which azd applies to a bool parameter given as text. */
function parseBool(text: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new Error(`not a bool: ${text}`);
}
