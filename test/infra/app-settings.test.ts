import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/settings.js";
import { azdParameters } from "./azd.js";
import { callArguments, declarations, infraText, property } from "./bicep.js";

describe("app settings the deployer adds", () => {
  const keyVaultReference = "@Microsoft.KeyVault(SecretUri=https://kv-contoso.vault.azure.net/secrets/eventhub-connection/)";

  it("reach the deployment from azd env set as one JSON object, and are left to the Bicep default when unset", () => {
    const json = JSON.stringify({ DEFENDER_EXPORT_DEST_EVENTHUB: keyVaultReference });
    expect(azdParameters({ DEFENDER_EXPORT_EXTRA_APP_SETTINGS: json })["extraAppSettings"]).toEqual({ DEFENDER_EXPORT_DEST_EVENTHUB: keyVaultReference });
    expect(azdParameters({})).not.toHaveProperty("extraAppSettings");
    expect(infraText("main.bicep")).toMatch(/^param extraAppSettings object = \{\}$/m);
  });

  it("survive every provision: the appsettings PUT (which replaces them all) includes them, over the export's defaults and under the host's settings", () => {
    const main = declarations(infraText("main.bicep")).find((d) => d.symbol === "api")!;
    expect(property(property(main.body, "params")!, "extraAppSettings")).toBe("extraAppSettings");
    const settings = declarations(infraText("app/api.bicep")).find((d) => d.target === "config" && property(d.body, "name") === "'appsettings'")!;
    const merged = callArguments(property(settings.body, "properties")!, "union")!;
    expect(merged.slice(0, 2)).toEqual(["exportSettings", "extraAppSettings"]);
    expect(merged).toHaveLength(3);
    expect(merged[2]).toContain("AzureWebJobsStorage__credential: 'managedidentity'");
  });
});

describe("the README's destination app settings", () => {
  it("are named DEFENDER_EXPORT_DEST_*, the only names a destination may use, and set through DEFENDER_EXPORT_EXTRA_APP_SETTINGS", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const named = [...readme.matchAll(/"(?:connectionStringSetting|uriSetting)": "(\w+)"/g)].map((m) => m[1]!);
    const added = [...readme.matchAll(/DEFENDER_EXPORT_EXTRA_APP_SETTINGS '(\{.*?\})'/g)].flatMap((m) => Object.keys(JSON.parse(m[1]!) as object));
    expect(named.length).toBeGreaterThanOrEqual(3);
    expect(added.length).toBeGreaterThanOrEqual(1);
    expect([...named, ...added].filter((n) => !n.startsWith("DEFENDER_EXPORT_DEST_"))).toEqual([]);
  });
});
