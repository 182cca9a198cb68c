import { describe, expect, it } from "vitest";
import { AssessmentMetadataIndex } from "../../src/records/metadata.js";

// A management group's unit joins metadata for hundreds of subscriptions: each one's index lies over the
// tenant's, held once, and its own (custom) entries win.

const meta = (name: string, displayName: string) => ({ name, properties: { displayName, severity: "High" } });
const assessment = (name: string) => ({ name, properties: { status: { code: "Unhealthy" } } });

describe("metadata indexes over the tenant's", () => {
  it("look up a subscription's own entries first, then the tenant's, by name without case", () => {
    const tenant = new AssessmentMetadataIndex();
    tenant.add(meta("built-in-1", "Tenant one"));
    tenant.add(meta("shared", "Tenant's"));
    const subscription = new AssessmentMetadataIndex(tenant);
    subscription.add(meta("SHARED", "The subscription's"));
    subscription.add(meta("custom-1", "Custom"));
    const displayName = (name: string) => (subscription.embed(assessment(name)) as { properties: { metadata?: { displayName: string } } }).properties.metadata?.displayName;
    expect([displayName("Built-In-1"), displayName("shared"), displayName("custom-1"), displayName("unknown")]).toEqual(["Tenant one", "The subscription's", "Custom", undefined]);
    expect(subscription.has(assessment("built-in-1"))).toBe(true);
    // Another subscription over the same tenant index sees none of the first one's.
    const other = new AssessmentMetadataIndex(tenant);
    expect(other.has(assessment("custom-1"))).toBe(false);
    expect((other.embed(assessment("shared")) as { properties: { metadata: { displayName: string } } }).properties.metadata.displayName).toBe("Tenant's");
    expect(tenant.size).toBe(2);
    expect(other.size).toBe(2);
  });
});
