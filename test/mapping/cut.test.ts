import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutToFit, jsonBytes, jsonSize, LOG_ANALYTICS_ROW_LIMIT, truncateSized, truncateString } from "../../src/mapping/cut.js";
import { mapToRow } from "../../src/mapping/rows.js";
import { tableFor } from "../../src/datatypes/registry.js";
import { toEventWithin } from "../../src/mapping/to-event.js";
import { toLogAnalyticsRow } from "../../src/mapping/to-row.js";
import { assessmentWithMetadata, exampleRecords } from "../helpers/examples.js";
import { input } from "../helpers/mapping.js";

const metadata = exampleRecords("assessments/ListAssessmentsMetadata_example.json")[0]!;
const base = assessmentWithMetadata(exampleRecords("assessments/ListAssessments_example.json")[0]!, metadata);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The assessment with a metadata description of `text`. */
function withDescription(text: string): Record<string, unknown> {
  const props = base["properties"] as Record<string, unknown>;
  return { ...base, properties: { ...props, metadata: { ...(props["metadata"] as object), description: text } } };
}

function rowOf(record: Record<string, unknown>, tenantId = "t0") {
  const result = toLogAnalyticsRow(input(record, "Assessments", { tenantId }));
  if (result === undefined || !result.ok) throw new Error(JSON.stringify(result));
  return result;
}

/**
 * A record whose row is exactly `target` bytes: the description (ASCII padding, then `tail`) appears twice
 * in a row (Description, and inside Properties.metadata), so the tenant id, which appears once, sets the parity.
 */
function recordOfRowSize(target: number, tail = ""): { record: Record<string, unknown>; tenantId: string } {
  const empty = jsonBytes(rowOf(withDescription("")).row);
  const rest = target - empty - 2 * Buffer.byteLength(tail, "utf8");
  const tenantId = rest % 2 === 0 ? "t0" : "t01";
  const pad = (rest - (tenantId.length - 2)) / 2;
  if (pad < 0) throw new Error(`cannot reach ${target}`);
  return { record: withDescription("a".repeat(pad) + tail), tenantId };
}

function rowOfSize(target: number, tail = "") {
  const { record, tenantId } = recordOfRowSize(target, tail);
  return rowOf(record, tenantId);
}

describe("the 32 KB cut of Log Analytics rows", () => {
  it.each([32_767, 32_768])("a row of %d bytes goes as it is", (size) => {
    const result = rowOfSize(size);
    expect(jsonBytes(result.row)).toBe(size);
    expect(result.cut).toEqual([]);
    expect(result.row["IsTruncated"]).toBeUndefined();
  });

  it("a row of 32,769 bytes is cut to fit, marked, its identity columns untouched", () => {
    const original = rowOfSize(32_768).row;
    const { record, tenantId } = recordOfRowSize(32_769, "é");
    expect(jsonBytes(mapToRow(input(record, "Assessments", { tenantId }), tableFor("assessment")!))).toBe(32_769);
    const result = rowOf(record, tenantId);
    expect(jsonBytes(result.row)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
    expect(result.row["IsTruncated"]).toBe(true);
    expect(result.row["TruncatedColumns"]).toEqual(result.cut);
    expect(result.cut.length).toBeGreaterThan(0);
    expect(result.cut).toEqual(["Properties"]); // one byte over: only the largest column gives
    for (const column of ["RecordId", "RecommendationId", "RecommendationName", "RecommendationSeverity", "RecommendationState", "AssessedResourceId", "TimeGenerated"]) {
      expect(result.row[column], column).toEqual(original[column]);
    }
  });

  it.each([
    ["2-byte", "é"],
    ["3-byte", "€"],
    ["4-byte (surrogate pairs)", "😀"],
    ["mixed", "a😀€é"],
  ])("cuts %s characters on character boundaries", (_, unit) => {
    const text = unit.repeat(Math.ceil(40_000 / Buffer.byteLength(unit)));
    const result = rowOf(withDescription(text));
    expect(jsonBytes(result.row)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
    const cutText = result.row["Description"] as string;
    expect(text.startsWith(cutText)).toBe(true);
    expect(cutText.length).toBeGreaterThan(1000);
    expect(LONE_SURROGATE.test(cutText)).toBe(false);
    expect(LONE_SURROGATE.test(JSON.stringify(result.row))).toBe(false);
  });

  it("keeps dynamic columns valid JSON, however deep", () => {
    let deep: unknown = { leaf: "x".repeat(60_000), keep: "small" };
    for (let i = 0; i < 200; i++) deep = { level: i, child: deep, note: "n".repeat(i % 7) };
    const props = base["properties"] as Record<string, unknown>;
    const result = rowOf({ ...base, properties: { ...props, additionalData: deep } });
    expect(jsonBytes(result.row)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
    expect(result.cut).toEqual(expect.arrayContaining(["RecommendationAdditionalData", "Properties"]));
    const data = result.row["RecommendationAdditionalData"];
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    // The structure stays: the big leaf was cut, not the levels above it.
    let depth = 0;
    for (let node = data as { child?: unknown }; node && typeof node === "object" && "child" in node; node = node.child as { child?: unknown }) depth++;
    expect(depth).toBe(200);
  });

  it("is deterministic: the same record gives the same row", () => {
    const record = withDescription("€".repeat(30_000));
    const first = rowOf(record);
    const second = rowOf(structuredClone(record));
    expect(JSON.stringify(second.row)).toBe(JSON.stringify(first.row));
  });

  it("shares the cut between the largest columns instead of emptying one", () => {
    const row = { RecordId: "id", A: "a".repeat(30_000), B: "b".repeat(20_000), C: "c".repeat(500) };
    const result = cutToFit(row, LOG_ANALYTICS_ROW_LIMIT, (k) => k === "RecordId", { flag: "IsTruncated", list: "TruncatedColumns" });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect((result.value["A"] as string).length).toBeGreaterThan(10_000);
    expect((result.value["B"] as string).length).toBeGreaterThan(10_000);
    expect(result.value["C"]).toBe(row.C);
    expect(result.cut).toEqual(["A", "B"]);
  });

  it("says so when only protected columns are too big", () => {
    const row = { RecordId: "x".repeat(40_000), Note: "small" };
    const result = cutToFit(row, LOG_ANALYTICS_ROW_LIMIT, (k) => k === "RecordId", { flag: "IsTruncated", list: "TruncatedColumns" });
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/cannot fit in 32768 bytes without cutting protected fields/) });
  });

  it("points to the overflow blob, within the limit", () => {
    const result = toLogAnalyticsRow(input(withDescription("z".repeat(50_000)), "Assessments"), { overflowBlob: "overflow/securityrecommendation/abc.json" });
    expect(result?.ok && result.row["OverflowBlob"]).toBe("overflow/securityrecommendation/abc.json");
    expect(result?.ok && jsonBytes(result.row)).toBeLessThanOrEqual(LOG_ANALYTICS_ROW_LIMIT);
  });

  it("never sends more than the limit, for any row", () => {
    const big = fc.oneof(
      fc.string({ unit: "grapheme", minLength: 0, maxLength: 3000 }),
      fc.array(fc.string({ maxLength: 400 }), { maxLength: 60 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ unit: "binary", maxLength: 2000 }), fc.integer(), fc.constant(null)), { maxKeys: 30 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[A-Z][a-z]{0,8}$/), big, { minKeys: 1, maxKeys: 12 }), fc.integer({ min: 400, max: 8000 }), (columns, limit) => {
        const row = { RecordId: "/subscriptions/x", ...columns };
        const result = cutToFit(row, limit, (k) => k === "RecordId", { flag: "IsTruncated", list: "TruncatedColumns" });
        if (!result.ok) return;
        expect(jsonBytes(result.value)).toBeLessThanOrEqual(limit);
        // The JSON put together from the members' is the value's own.
        expect(result.json).toBe(JSON.stringify(result.value));
        expect(result.value["RecordId"]).toBe(row.RecordId);
        for (const [k, v] of Object.entries(row)) {
          if (!result.cut.includes(k)) expect(result.value[k]).toEqual(v);
          else if (typeof v === "string") expect(v.startsWith(result.value[k] as string)).toBe(true);
        }
        expect(LONE_SURROGATE.test(JSON.stringify(result.value)) && !LONE_SURROGATE.test(JSON.stringify(row))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
  it("cuts a string longer than the limit by the other columns' sizes alone: its own length changes nothing", () => {
    // Such a string is certainly cut, and is never measured whole (its size cannot change the level it comes to).
    const units = ["a", "é", "€", "😀", '"', "\\", "\n", "\u0001", "\ud800", "\udc00"];
    const pattern = fc.array(fc.constantFrom(...units), { minLength: 1, maxLength: 12 }).map((u) => u.join(""));
    const small = fc.oneof(fc.string({ maxLength: 600 }), fc.array(fc.string({ maxLength: 200 }), { maxLength: 12 }), fc.integer());
    fc.assert(
      fc.property(
        fc.integer({ min: 300, max: 4000 }),
        fc.array(fc.tuple(pattern, fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 3 }),
        fc.dictionary(fc.stringMatching(/^[A-Z][a-z]{0,6}$/), small, { maxKeys: 8 }),
        fc.integer({ min: 1, max: 5000 }),
        (limit, giants, others, more) => {
          const long = (p: string, extra: number) => p.repeat(Math.ceil((limit + 1) / p.length) + extra);
          const row: Record<string, unknown> = { RecordId: "/subscriptions/x", ...others };
          const longer: Record<string, unknown> = { ...row };
          giants.forEach(([p, extra], i) => {
            row[`Giant${i}`] = long(p, extra);
            longer[`Giant${i}`] = long(p, extra) + p.repeat(Math.ceil(more / p.length));
          });
          const markers = { flag: "IsTruncated", list: "TruncatedColumns" };
          const a = cutToFit(row, limit, (k) => k === "RecordId", markers);
          const b = cutToFit(longer, limit, (k) => k === "RecordId", markers);
          expect(b).toEqual(a);
          if (!a.ok) return;
          expect(a.json).toBe(JSON.stringify(a.value));
          expect(jsonBytes(a.value)).toBeLessThanOrEqual(limit);
          for (let i = 0; i < giants.length; i++) expect(a.cut).toContain(`Giant${i}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("jsonSize", () => {
  it("is the size of JSON.stringify's text for any value", () => {
    const anything = fc.anything({
      withBoxedValues: true,
      withDate: true,
      withNullPrototype: true,
      withSparseArray: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withObjectString: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(anything, (value) => {
        expect(jsonSize(value)).toBe(jsonBytes(value));
      }),
      { numRuns: 2000 },
    );
  });

  it("measures a value met again from what it measured (a nested value is not serialized once per level)", () => {
    const shared = { text: "é".repeat(100), list: [1, -0, 1.5e300, NaN, null, true, "\ud800"] };
    const sizes = new WeakMap<object, number>();
    expect(jsonSize({ a: shared, b: [shared, { toJSON: () => "x" }, undefined] }, sizes)).toBe(jsonBytes({ a: shared, b: [shared, { toJSON: () => "x" }, undefined] }));
    expect(sizes.get(shared)).toBe(jsonBytes(shared));
  });

  it("gives a nested toJSON its key, and refuses a cycle as JSON.stringify does", () => {
    const byKey = { toJSON: (key: string) => (key === "" ? "" : "y".repeat(200)) };
    for (const value of [{ c: byKey }, { a: { b: [byKey] } }, [{ c: byKey }]]) expect(jsonSize(value)).toBe(jsonBytes(value));
    const cycle: Record<string, unknown> = { a: 1 };
    cycle["self"] = { back: cycle };
    expect(() => jsonSize({ x: cycle })).toThrow(TypeError);
    expect(() => jsonSize({ x: cycle })).toThrow(/circular/);
  });
});

describe("truncateString", () => {
  it("never splits a surrogate pair and counts JSON escapes", () => {
    expect(truncateString("ab😀cd", 6)).toBe("ab"); // "ab😀" would need 8 bytes with its quotes
    expect(truncateString('a"b', 4)).toBe("a"); // the quote escapes to two bytes
    expect(truncateString("\n\n\n", 6)).toBe("\n\n");
  });

  // Long strings are cut by native UTF-8 encoding where what could fit has nothing to escape, by counting where it has:
  // half the texts have nothing to escape, half one escape or surrogate somewhere (where it falls against the cut decides).
  const plain = fc.array(fc.constantFrom("a", "é", "€", "x y z ", "ÿ", "\u007f"), { minLength: 150, maxLength: 400 });
  const special = fc.oneof(fc.constantFrom("😀", '"', "\\", "\n", "\u0001", "\ud800", "\udc00"), fc.string({ unit: "binary", minLength: 1, maxLength: 8 }));
  const longText = fc
    .oneof(
      plain,
      fc.tuple(plain, special, fc.nat()).map(([parts, one, at]) => [...parts.slice(0, at % parts.length), one, ...parts.slice(at % parts.length)]),
    )
    .map((parts) => parts.join(""));

  it("gives the longest prefix whose JSON fits, for long strings of any characters", () => {
    /** The longest prefix whose JSON is at most `budget` bytes (a prefix splitting a pair costs more than the pair). */
    const reference = (text: string, budget: number) => {
      for (let i = Math.min(text.length, budget); i > 0; i--) if (jsonBytes(text.slice(0, i)) <= budget) return text.slice(0, i);
      return "";
    };
    fc.assert(
      fc.property(longText, fc.integer({ min: 0, max: 4000 }), (text, budget) => {
        const cut = truncateSized(text, budget);
        expect(cut.value).toBe(reference(text, budget));
        expect(cut.bytes).toBe(jsonBytes(cut.value));
        if (cut.json !== undefined) expect(cut.json).toBe(JSON.stringify(cut.value));
      }),
      { numRuns: 400 },
    );
  });

  it("counts a long cut string's bytes as its JSON has them (the row's JSON is its value's, within the limit)", () => {
    const markers = { flag: "IsTruncated", list: "TruncatedColumns" };
    fc.assert(
      fc.property(longText, longText, fc.integer({ min: 200, max: 3000 }), (a, b, limit) => {
        const result = cutToFit({ Id: "r1", A: a, B: b }, limit, (k) => k === "Id", markers);
        if (!result.ok) throw new Error(result.reason);
        expect(result.json).toBe(JSON.stringify(result.value));
        expect(Buffer.byteLength(result.json, "utf8")).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 400 },
    );
  });
});

describe("the same cut guards Event Hubs events", () => {
  it("keeps an alert's identity and fits the hub's limit", () => {
    const [alert] = exampleRecords("alerts/GetAlertsSubscription_example.json");
    const props = alert!["properties"] as Record<string, unknown>;
    const huge = { ...alert!, properties: { ...props, extendedProperties: { "Command Line": "x".repeat(300_000), "Compromised Host": "vm1" } } };
    const result = toEventWithin(input(huge, "Alerts"), 256 * 1024);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(jsonBytes(result.body!)).toBeLessThanOrEqual(256 * 1024);
    expect(result.body!).toMatchObject({ SystemAlertId: props["systemAlertId"], Severity: "High", IsTruncated: true, TruncatedFields: ["ExtendedProperties"] });
    expect((result.body!["ExtendedProperties"] as Record<string, unknown>)["Compromised Host"]).toBe("vm1");
  });
});
