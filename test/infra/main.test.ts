import { describe, expect, it } from "vitest";
import { bicepFiles, declarations, infraText, property } from "./bicep.js";

const main = infraText("main.bicep");

/** A top-level `var`'s expression (it may span lines: a ternary's ? and : lines are indented). */
function variable(name: string): string {
  const m = new RegExp(`^var ${name} = (.*(?:\\n {2}.*)*)`, "m").exec(main);
  if (m === null) throw new Error(`no var ${name}`);
  return m[1]!;
}

/**
 * Evaluates the small part of Bicep a validity check is written in: string literals, identifiers bound in `scope`,
 * indexes, length(), empty(), toLower(), ==, !=, &&, ||, !, and ternaries; and checks it uses nothing else.
 */
function evaluate(expression: string, scope: Record<string, unknown>): unknown {
  const js = expression.replace(/\s+/g, " ").replace(/==/g, "===").replace(/!=(?!=)/g, "!==");
  const allowed = /^(?:'[^']*'|\d+|[A-Za-z_]\w*|[\s()[\]?:!&|=]+)*$/;
  if (!allowed.test(js)) throw new Error(`not modelled: ${expression}`);
  for (const name of js.replace(/'[^']*'/g, "").match(/[A-Za-z_]\w*/g) ?? []) {
    if (!["length", "empty", "toLower", "true", "false", ...Object.keys(scope)].includes(name)) throw new Error(`not modelled: ${name}`);
  }
  const helpers = {
    length: (v: string | unknown[]) => v.length,
    empty: (v: string | unknown[]) => v.length === 0,
    toLower: (v: string) => v.toLowerCase(),
  };
  const names = [...Object.keys(helpers), ...Object.keys(scope)];
  // The expression was checked against the subset above.
  return new Function(...names, `return (${js});`)(...Object.values(helpers), ...Object.values(scope));
}

describe("the subscription deployment (main.bicep)", () => {
  it("without an existing hub, the hub module's scope is this subscription and the app's own group, not a placeholder that is no id", () => {
    expect(main).not.toMatch(/\/subscriptions\/-|resourceGroups\/-/);
    const existingHub = variable("existingHub");
    const notExisting = /^eventHubMode != 'existing'\s*\? (.*)\n/.exec(existingHub)?.[1];
    expect(notExisting).toBe("split('/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.EventHub/namespaces/none/eventhubs/none', '/')");
    expect(property(declarations(main).find((d) => d.symbol === "rg")!.body, "name")).toBe("resourceGroupName");
    expect(property(declarations(main).find((d) => d.symbol === "existingEventHub")!.body, "scope")).toBe("resourceGroup(existingHub[2], existingHub[4])");
  });

  it("an eventHubResourceId that is not an event hub's id stops the deployment with a message saying the expected form", () => {
    const valid = (id: string) => evaluate(variable("hubIdIsValid"), { hubIdParts: id.split("/") });
    const hub = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hubs/providers/Microsoft.EventHub/namespaces/contoso-ns/eventhubs/defender";
    expect(valid(hub)).toBe(true);
    expect(valid(hub.replace("/eventhubs/", "/EventHubs/").replace("resourceGroups", "resourcegroups"))).toBe(true);
    for (const wrong of ["", hub.slice(0, hub.indexOf("/eventhubs/")), `${hub}/`, `${hub}/consumergroups/$Default`, hub.replace("Microsoft.EventHub", "Microsoft.ServiceBus").replace("eventhubs", "queues"), hub.slice(1)]) {
      expect(valid(wrong), wrong).toBe(false);
    }
    const existingHub = variable("existingHub");
    expect(existingHub).toMatch(/: hubIdIsValid \? hubIdParts : fail\('eventHubResourceId must be an event hub\\'s resource id, \/subscriptions\/<subscription>\/resourceGroups\/<group>\/providers\/Microsoft\.EventHub\/namespaces\/<namespace>\/eventhubs\/<hub>; it is \\'\$\{eventHubResourceId\}\\''\)$/);
    expect(variable("hubIdParts")).toBe("split(eventHubResourceId, '/')");
  });

  it("every module's deployment name fits 64 characters of [-\\w._()], whatever the resource group names", () => {
    expect(main).toMatch(/^var token = toLower\(uniqueString\(/m);
    const bounded: Record<string, number> = { token: 13 }; // uniqueString() is 13 characters
    let modules = 0;
    for (const [file, text] of bicepFiles()) {
      for (const d of declarations(text).filter((x) => x.kind === "module")) {
        modules++;
        const name = property(d.body, "name")!;
        expect(name, `${file}: ${d.symbol}`).toMatch(/^'.*'$/);
        const parts = name.slice(1, -1).split(/(\$\{[^}]*\})/);
        let length = 0;
        for (const part of parts) {
          if (!part.startsWith("${")) {
            expect(part, `${file}: ${d.symbol}`).toMatch(/^[-\w._()]*$/);
            length += part.length;
            continue;
          }
          const inner = part.slice(2, -1);
          const size = bounded[inner] ?? (/^uniqueString\(/.test(inner) ? 13 : Number(/^take\(.+, (\d+)\)$/.exec(inner)?.[1] ?? Number.POSITIVE_INFINITY));
          expect(size, `${file}: ${d.symbol}: \${${inner}} has no bound`).toBeLessThan(Number.POSITIVE_INFINITY);
          length += size;
        }
        expect(length, `${file}: ${d.symbol}`).toBeLessThanOrEqual(64);
      }
    }
    expect(modules).toBeGreaterThanOrEqual(10);
  });
});
