import { describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import { EVENT_CATEGORIES } from "../../src/mapping/eventhub.js";
import { EVENT_HUB_FORMATS } from "../../src/config/enums.js";

const base = (action: Record<string, unknown>) => ({
  sources: [{ eventSource: "Alerts" }],
  actions: [{ actionType: "EventHub", fullyQualifiedNamespace: "contoso-ns.servicebus.windows.net", eventHubName: "h", ...action }],
});

describe("EventHub action extensions", () => {
  it("accept the message format, the findings shape and one hub per event type", () => {
    const result = parseExportConfiguration(base({ format: "xdr", findingsShape: "pascal", eventHubNames: { SecurityAlert: "alerts", SecureScores: "scores" } }));
    expect(result.ok && result.configuration.actions[0]).toMatchObject({ format: "xdr", findingsShape: "pascal", eventHubNames: { SecurityAlert: "alerts", SecureScores: "scores" } });
  });

  it("name what is wrong", () => {
    const result = parseExportConfiguration(base({ format: "json", findingsShape: "snake", eventHubNames: { Alerts: "a" } }));
    expect(!result.ok && result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      '$.actions[0].format: expected format: one of defender, api, xdr, got "json"',
      "$.actions[0].findingsShape: expected findingsShape: camel or pascal",
      expect.stringMatching(/^\$\.actions\[0\]\.eventHubNames\.Alerts: unknown event type "Alerts"; expected SecurityAlert, /),
    ]);
  });

  it("use the same format and event type names as the mapping", () => {
    for (const format of EVENT_HUB_FORMATS) expect(parseExportConfiguration(base({ format })).ok, format).toBe(true);
    for (const category of Object.values(EVENT_CATEGORIES)) {
      expect(parseExportConfiguration(base({ eventHubNames: { [category]: "x" } })).ok, category).toBe(true);
    }
  });
});
