import type { EventHubFormat, FindingsShape } from "../config/enums.js";
import { byEventSource, DATA_TYPES, type DataType, type RegisteredDataType } from "../datatypes/registry.js";
import { pascal, recordJson, recordUtf8, setOwn, tenantOf, type Json, type OutgoingRecord } from "../records/record.js";

/**
 * What Event Hubs receive, per destination:
 * - "defender" (default): the shapes the built-in export sends and field parsers read: alerts in the legacy
 *   PascalCase alert event model; recommendations, findings, scores, controls and compliance as the ARM
 *   resource plus `securityEventDataEnrichment` (and the type's own enrichment);
 * - "api": every record as the ARM API returns it (alerts too), with the same enrichment;
 * - "xdr": the Defender XDR streaming envelope `{"records": [{time, tenantId, category, properties}]}`,
 *   many records per message.
 */
// Findings: camelCase ARM form with `subAssessmentEventDataEnrichment` (default), or the PascalCase form one consumer reads.

export interface EventHubShapeOptions {
  format?: EventHubFormat;
  findingsShape?: FindingsShape;
}

export interface MappedEvent {
  body: Json;
  /** Keeps each resource's events in order: the resource a record is about. */
  partitionKey: string;
  /** The event type, for one hub per type (as XDR offers) and for the XDR envelope. */
  category: EventCategory;
}

/** Each data type's event type (defined with the type, in src/datatypes/), by name. */
export const EVENT_CATEGORIES: Readonly<Record<DataType, string>> = Object.fromEntries(DATA_TYPES.map((d) => [d.name, d.eventHub.category])) as Record<DataType, string>;
export type EventCategory = string;

/** The enrichment's action: the built-in export sends Insert for new and changed records, Delete for removed ones. */
export function enrichmentAction(input: OutgoingRecord): "Insert" | "Delete" {
  return input.action === "Remove" ? "Delete" : "Insert";
}

export function toEvent(input: OutgoingRecord, options: EventHubShapeOptions = {}): MappedEvent {
  const dataType = byEventSource(input.eventSource);
  const shape = dataType.eventHub;
  const category = shape.category;
  const partitionKey = subjectOf(input, dataType);
  const format = options.format ?? "defender";
  if (format === "xdr") return { body: xdrRecord(input, category), partitionKey, category };
  if (shape.defenderEvent !== undefined && format === "defender") return { body: shape.defenderEvent(input), partitionKey, category };
  if (shape.findings === true && (options.findingsShape ?? "camel") === "pascal") return { body: pascalFinding(input, dataType), partitionKey, category };
  return { body: armWithEnrichment(input, dataType), partitionKey, category };
}

/** An event's JSON in two pieces: the enrichment's members (`{...` without the closing brace), and the record's JSON. */
export interface SplicedEvent {
  head: string;
  record: string;
  /** The record's JSON as UTF-8, where it was made already. */
  recordBytes?: Buffer;
}

/**
 * An event as its JSON without its object, where its shape allows (see splicedEvent below), with its partition key
 * and type: the object is made only for what needs it (a cut, a dead letter).
 */
export function eventAsJson(input: OutgoingRecord, options: EventHubShapeOptions = {}): { json: string; spliced: SplicedEvent; partitionKey: string; category: EventCategory } | undefined {
  const dataType = byEventSource(input.eventSource);
  const spliced = splicedEvent(input, dataType, options);
  if (spliced === undefined) return undefined;
  const json = spliced.record === "{}" ? `${spliced.head}}` : `${spliced.head},${spliced.record.slice(1)}`;
  return { json, spliced, partitionKey: subjectOf(input, dataType), category: dataType.eventHub.category };
}

/** A spliced event's UTF-8, written piece by piece: the JSON text is never joined into one string. */
export function splicedEventBytes({ head, record, recordBytes }: SplicedEvent): Buffer {
  if (record === "{}") return Buffer.from(`${head}}`, "utf8");
  const headBytes = Buffer.byteLength(head, "utf8");
  const bytes = Buffer.allocUnsafe(headBytes + (recordBytes?.length ?? Buffer.byteLength(record, "utf8")));
  bytes.write(head, 0, "utf8");
  if (recordBytes === undefined) bytes.write(record, headBytes, "utf8");
  else recordBytes.copy(bytes, headBytes);
  // The record's opening brace becomes the comma after the enrichment's members.
  bytes[headBytes] = COMMA;
  return bytes;
}
const COMMA = 0x2c;

/** The resource whose events must stay in order: what a record is about, else the record itself. */
function subjectOf(input: OutgoingRecord, dataType: RegisteredDataType): string {
  const subject = dataType.subject(input);
  return (subject !== undefined && subject !== "" ? subject : input.id).toLowerCase();
}

function enrichment(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  return { action: enrichmentAction(input), apiVersion: dataType.apiVersion, isSnapshot: input.isSnapshot };
}

function armWithEnrichment(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  const out = enrichmentHead(input, dataType);
  for (const [k, v] of Object.entries(input.record)) setOwn(out, k, v);
  return out;
}

/** The members the enrichment puts before the record's own, in their order. */
function enrichmentHead(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  const out: Json = {};
  const security = { ...enrichment(input, dataType), interval: "00:00:00" };
  const own = dataType.eventHub.enrichmentKey;
  if (own !== undefined) setOwn(out, own, enrichment(input, dataType));
  setOwn(out, "securityEventDataEnrichment", security);
  if (own !== undefined) {
    setOwn(out, "tenantId", tenantOf(input) ?? null);
    for (const key of ["kind", "location", "tags"]) setOwn(out, key, null);
  }
  return out;
}

/**
 * The event's JSON without making its object, where the event is the enrichment's members followed by the record's
 * own ("defender" for every type but alerts, "api" for all): the record's JSON (made once for every destination)
 * after the enrichment's, as serializing the event's object writes it. Undefined for the other shapes, where a
 * record's member has an enrichment member's name (the object keeps the first place, with the record's value), and
 * where one is named like an array index (the object puts it first).
 */
function splicedEvent(input: OutgoingRecord, dataType: RegisteredDataType, options: EventHubShapeOptions): SplicedEvent | undefined {
  const shape = dataType.eventHub;
  const format = options.format ?? "defender";
  if (format === "xdr" || (shape.defenderEvent !== undefined && format === "defender") || (shape.findings === true && (options.findingsShape ?? "camel") === "pascal")) return undefined;
  const head = headJson(input, dataType);
  for (const key of head.keys) if (Object.hasOwn(input.record, key)) return undefined;
  // A member named like an array index goes before every other in the event's object, the enrichment's too.
  if (hasIndexMember(input.record)) return undefined;
  return { head: head.json, record: recordJson(input), recordBytes: recordUtf8.made(input) };
}

/** Whether an object has an own member whose name is an array index ("0" to "4294967294"): such come first. */
function hasIndexMember(record: Json): boolean {
  for (const key in record) {
    // Index members are enumerated before any other: the first name tells.
    return Object.hasOwn(record, key) && ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295;
  }
  return false;
}
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** The enrichment's members as JSON, `{...` without the closing brace, and their names: the last asked (a pass's records share it). */
let lastHead: { dataType: RegisteredDataType; action: OutgoingRecord["action"]; isSnapshot: boolean; tenant: string | undefined; json: string; keys: string[] } | undefined;
function headJson(input: OutgoingRecord, dataType: RegisteredDataType): { json: string; keys: string[] } {
  const tenant = tenantOf(input);
  const last = lastHead;
  if (last !== undefined && last.dataType === dataType && last.action === input.action && last.isSnapshot === input.isSnapshot && last.tenant === tenant) return last;
  const head = enrichmentHead(input, dataType);
  lastHead = { dataType, action: input.action, isSnapshot: input.isSnapshot, tenant, json: JSON.stringify(head).slice(0, -1), keys: Object.keys(head) };
  return lastHead;
}

function pascalFinding(input: OutgoingRecord, dataType: RegisteredDataType): Json {
  const e = enrichment(input, dataType);
  const enrich = { Action: e["action"], ApiVersion: e["apiVersion"], IsSnapshot: e["isSnapshot"] };
  const out: Json = {};
  const own = dataType.eventHub.enrichmentKey;
  if (own !== undefined) setOwn(out, pascalName(own), enrich);
  setOwn(out, "SecurityEventDataEnrichment", enrich);
  setOwn(out, "TenantId", tenantOf(input) ?? null);
  for (const [k, v] of Object.entries(pascal(input.record) as Json)) setOwn(out, k, v);
  return out;
}

const pascalName = (key: string) => key[0]!.toUpperCase() + key.slice(1);

function xdrRecord(input: OutgoingRecord, category: string): Json {
  return { time: input.exportedAt, tenantId: tenantOf(input) ?? null, category, properties: input.record };
}
