import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FUNCTIONS } from "../../src/functions/all.js";
import { ROOT } from "../helpers/settings.js";
import { azdParameters } from "./azd.js";
import { callArguments, declarations, evaluate, infraText, property } from "./bicep.js";

const api = declarations(infraText("app/api.bicep"));
const authentication = api.find((d) => d.target === "config" && property(d.body, "name") === "'authsettingsV2'");
const appSettings = api.find((d) => d.target === "config" && property(d.body, "name") === "'appsettings'")!;
const switchedOn = /^var authenticationOn = (.+)$/m.exec(infraText("app/api.bicep"))?.[1];

describe("App Service authentication (Entra ID) in front of the management API", () => {
  it("is deployed when a client id is given: every call needs a token for it (401 without), but the anonymous probe and API description", () => {
    expect(authentication?.condition).toBe("authenticationOn");
    expect(switchedOn).toBe("!empty(authClientId)");
    const body = authentication!.body;
    expect(property(body, "platform")).toBe("{ enabled: true }");
    const validation = property(body, "globalValidation")!;
    expect(property(validation, "requireAuthentication")).toBe("true");
    expect(property(validation, "unauthenticatedClientAction")).toBe("'Return401'");
    // Exactly the functions that are anonymous in the code, under host.json's route prefix.
    const prefix = (JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as { extensions: { http: { routePrefix: string } } }).extensions.http.routePrefix;
    const anonymous = FUNCTIONS.flatMap((f) => (f.kind === "http" && f.authLevel === "anonymous" ? [`'/${prefix}/${f.route}'`] : []));
    expect(property(validation, "excludedPaths")).toBe(`[ ${anonymous.sort().join(", ")} ]`);
    expect(anonymous).toEqual(expect.arrayContaining(["'/api/health'", "'/api/openapi.json'"]));
  });

  it("validates tokens of the given registration, issued by this tenant in this cloud", () => {
    const entra = property(property(authentication!.body, "identityProviders")!, "azureActiveDirectory")!;
    expect(property(entra, "enabled")).toBe("true");
    const registration = property(entra, "registration")!;
    expect(property(registration, "clientId")).toBe("authClientId");
    expect(property(registration, "openIdIssuer")).toBe("'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
    expect(property(property(entra, "validation")!, "allowedAudiences")).toBe("[ authClientId, 'api://${authClientId}' ]");
    expect(authentication!.body).not.toMatch(/login\.microsoftonline\.com|clientSecret/);
  });

  it("DEFENDER_EXPORT_REQUIRE_ROLE is 'true' exactly when authentication is deployed, and extra app settings cannot turn it off", () => {
    const merged = callArguments(property(appSettings.body, "properties")!, "union")!;
    const hostOwned = merged[merged.length - 1]!;
    const requireRole = property(hostOwned, "DEFENDER_EXPORT_REQUIRE_ROLE")!;
    expect(merged.indexOf("extraAppSettings")).toBeLessThan(merged.length - 1);
    for (const authClientId of ["", "6f0b4f8e-3c4a-4d2e-9a51-0c1d2e3f4a5b"]) {
      const on = evaluate(switchedOn!, { authClientId });
      expect(on).toBe(authClientId !== "");
      expect(evaluate(requireRole, { authenticationOn: on })).toBe(on ? "true" : "false");
    }
  });

  it("the client id is a parameter azd env set reaches; without it the default azd up deploys no authentication", () => {
    const id = "6f0b4f8e-3c4a-4d2e-9a51-0c1d2e3f4a5b";
    expect(azdParameters({ DEFENDER_EXPORT_AUTH_CLIENT_ID: id })["authClientId"]).toBe(id);
    expect(azdParameters({})).not.toHaveProperty("authClientId");
    const main = infraText("main.bicep");
    expect(main).toMatch(/^param authClientId string = ''$/m);
    expect(property(property(declarations(main).find((d) => d.symbol === "api")!.body, "params")!, "authClientId")).toBe("authClientId");
    expect(infraText("app/api.bicep")).toMatch(/^param authClientId string = ''$/m);
  });
});
