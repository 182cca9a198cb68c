import { isObject } from "../shared/object.js";
import type { EventSource } from "../config/enums.js";

export type Json = Record<string, unknown>;

/** Where a record sits in the hierarchy it was read from; the record itself stays in the wire shape. */
export interface RecordContext {
  /** Findings: the key (name) of their parent recommendation. */
  parentAssessmentKey?: string;
  /** Regulatory compliance assessments: their standard and control. */
  standard?: string;
  control?: string;
}

/** Insert: new, or seen again in a snapshot; Update: changed; Remove: gone since the last export. */
export type ChangeKind = "Insert" | "Update" | "Remove";

/** A record on its way to a destination, with what the mappings need to know about the export. */
export interface OutgoingRecord {
  record: Json;
  eventSource: EventSource;
  /** The record's stable id (its ARM id, lower-cased). */
  id: string;
  isSnapshot: boolean;
  action: ChangeKind;
  /** When this export observed the record (ISO 8601). */
  exportedAt: string;
  /** The Entra tenant of the monitored subscription, when known. */
  tenantId?: string;
  context?: RecordContext;
}

/** The tenant: the configured one, else the record's own (Resource Graph rows carry it). */
export function tenantOf(input: OutgoingRecord): string | undefined {
  const own = input.record["tenantId"];
  return input.tenantId ?? (typeof own === "string" && own !== "" ? own : undefined);
}

/**
 * A function of a record, computed once for the last record asked: destinations and a row's columns ask one record
 * after another. Kept by identity: a record is not changed once it is on its way (the pass and the previews make an
 * OutgoingRecord for each).
 */
function lastRecordOnce<T>(compute: (input: OutgoingRecord) => T): ((input: OutgoingRecord) => T) & { made(input: OutgoingRecord): T | undefined } {
  let of: OutgoingRecord | undefined;
  let record: Json | undefined;
  let value: T;
  const made = (input: OutgoingRecord) => of === input && record === input.record;
  return Object.assign(
    (input: OutgoingRecord) => {
      if (!made(input)) {
        value = compute(input);
        of = input;
        record = input.record;
      }
      return value;
    },
    // Without computing it: what was made for this record, if anything asked.
    { made: (input: OutgoingRecord) => (made(input) ? value : undefined) },
  );
}

/** The record's JSON, made once for every destination that writes the record whole (an event, a cut row's original). */
export const recordJson = lastRecordOnce((input) => JSON.stringify(input.record));

/**
 * The record's JSON as UTF-8, made for a cut row's original: its event, when spliced, copies these bytes rather than
 * encode the same text again (`recordUtf8.made`: oversized records are the ones with an original, and the longest to encode).
 */
export const recordUtf8 = lastRecordOnce((input) => Buffer.from(recordJson(input), "utf8"));

/** Sets an own property, even one named __proto__ (plain assignment would change the prototype). */
export function setOwn(target: Json, key: string, value: unknown): void {
  // defineProperty only where it is needed: it turns the object into a slow dictionary.
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The value at a path of up to four plain property names, or undefined. (No rest parameters: this is hot.) */
export function get(value: unknown, a: string, b?: string, c?: string, d?: string): unknown {
  let v = step(value, a);
  if (b !== undefined && v !== undefined) v = step(v, b);
  if (c !== undefined && v !== undefined) v = step(v, c);
  if (d !== undefined && v !== undefined) v = step(v, d);
  return v;
}

function step(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

export function props(input: OutgoingRecord): Json {
  const p = input.record["properties"];
  return isObject(p) ? p : {};
}

/** `/subscriptions/<id>/...` → `<id>`. */
export function subscriptionOf(id: unknown): string | undefined {
  return typeof id === "string" ? /^\/subscriptions\/([^/]+)/i.exec(id)?.[1] : undefined;
}

/** `/subscriptions/<id>/resourceGroups/<rg>/...` → `<rg>`. */
export function resourceGroupOf(id: unknown): string | undefined {
  return typeof id === "string" ? /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)/i.exec(id)?.[1] : undefined;
}

/** `.../providers/Microsoft.Compute/virtualMachines/vm1` → `Microsoft.Compute/virtualMachines` (the last provider's type). */
export function resourceTypeOf(id: unknown): string | undefined {
  if (typeof id !== "string") return undefined;
  // Columns of one row ask for the same id's type more than once.
  if (lastTypeOf !== id) {
    lastType = parseResourceType(id);
    lastTypeOf = id;
  }
  return lastType;
}
let lastTypeOf: string | undefined;
let lastType: string | undefined;

/** After the last segment named "providers" (any case): the namespace, then every other segment's type. */
function parseResourceType(id: string): string | undefined {
  // Segments from the end, without splitting the whole id (an id is some 15 segments; the type is the last few).
  let end = id.length;
  for (;;) {
    const slash = end === 0 ? -1 : id.lastIndexOf("/", end - 1);
    if (end - slash - 1 === 9 && id.slice(slash + 1, end).toLowerCase() === "providers") break;
    if (slash < 0) return undefined;
    end = slash;
  }
  if (end === id.length) return undefined;
  const parts = id.slice(end + 1).split("/");
  if (parts.length < 2) return undefined;
  let type = `${parts[0]}/${parts[1]}`;
  for (let i = 3; i < parts.length; i += 2) type += `/${parts[i]}`;
  return type;
}

/**
 * The ARM resource a recommendation or finding assesses: `resourceDetails.id` when it is an ARM id, else
 * the record's own id up to its Microsoft.Security part (container image findings carry an image path). Several
 * columns of a row and its event's partition key ask for it: computed once a record.
 */
export const assessedResourceId: (input: OutgoingRecord) => string | undefined = lastRecordOnce(findAssessedResourceId);

function findAssessedResourceId(input: OutgoingRecord): string | undefined {
  const detail = get(props(input), "resourceDetails", "id");
  if (typeof detail === "string" && /^\/subscriptions\//i.test(detail)) return detail;
  const own = input.record["id"];
  if (typeof own !== "string") return undefined;
  const at = own.toLowerCase().indexOf("/providers/microsoft.security/assessments/");
  return at > 0 ? own.slice(0, at) : undefined;
}

/** The id consumers deduplicate on: the record's ARM id, lower-cased (ARM ids are case-insensitive). */
export function stableId(record: unknown): string | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const id = (record as Record<string, unknown>)["id"];
  return typeof id === "string" && id !== "" ? id.toLowerCase() : undefined;
}

/** camelCase keys to PascalCase, all the way down; `$id`-style keys stay as they are. */
export function pascal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascal);
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k.startsWith("$") || k === "" ? k : k[0]!.toUpperCase() + k.slice(1), pascal(v));
  return out;
}
