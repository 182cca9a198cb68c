import type { EventSource } from "../config/enums.js";
import { classifyRecord, definitionOf } from "../datatypes/registry.js";
import { AssessmentMetadataIndex, hasEmbeddedMetadata } from "../records/metadata.js";
import { stableId } from "../records/record.js";
import type { CompiledConfiguration } from "../rules/configuration.js";

export interface SelectedRecord {
  eventSource: EventSource;
  /** The record's ARM id, lower-cased: stable across passes, for consumers to deduplicate on. */
  id: string;
  body: unknown;
}

export type SelectionNotice =
  | { kind: "unknownType"; type: string | undefined }
  | { kind: "notExportedType"; type: string }
  | { kind: "missingId"; type: string }
  | { kind: "missingMetadata"; id: string }
  | { kind: "badMetadata" };

export interface Located<Origin> {
  record: unknown;
  origin: Origin;
}

/**
 * Applies a configuration's rules to records, yielding one selection per (record, matching event source).
 * Records of a type with metadata (assessments) are evaluated with it embedded; metadata records in the
 * input are joined by name. A record whose metadata has not been seen yet waits for it until the input ends.
 */
export async function* selectRecords<Origin>(
  rules: CompiledConfiguration,
  input: AsyncIterable<Located<Origin>>,
  notify: (notice: SelectionNotice, origin: Origin) => void,
): AsyncGenerator<SelectedRecord> {
  // Only one type has metadata today: one index and one waiting list serve it.
  const metadata = new AssessmentMetadataIndex();
  const waiting = new Map<string, Located<Origin>[]>();

  function* evaluate(record: unknown, origin: Origin): Generator<SelectedRecord> {
    const cls = classifyRecord(record);
    if (cls.kind !== "exported") return;
    const sources = rules.sourcesFor(cls.dataType);
    if (sources.length === 0) return;
    const id = stableId(record);
    if (id === undefined) {
      notify({ kind: "missingId", type: String((record as Record<string, unknown>)["type"]) }, origin);
      return;
    }
    for (const source of sources) {
      if (source.matches(record)) yield { eventSource: source.source.eventSource, id, body: record };
    }
  }

  for await (const item of input) {
    const cls = classifyRecord(item.record);
    switch (cls.kind) {
      case "unknown":
        notify({ kind: "unknownType", type: cls.type }, item.origin);
        break;
      case "notExported":
        notify({ kind: "notExportedType", type: cls.type }, item.origin);
        break;
      case "metadata": {
        if (!metadata.add(item.record)) {
          notify({ kind: "badMetadata" }, item.origin);
          break;
        }
        const name = String((item.record as Record<string, unknown>)["name"]).toLowerCase();
        for (const held of waiting.get(name) ?? []) yield* evaluate(metadata.embed(held.record), held.origin);
        waiting.delete(name);
        break;
      }
      case "exported": {
        const hasMetadata = definitionOf(cls.dataType).metadata !== undefined;
        if (hasMetadata && rules.sourcesFor(cls.dataType).length > 0 && !hasEmbeddedMetadata(item.record) && !metadata.has(item.record)) {
          const name = (item.record as Record<string, unknown>)["name"];
          if (typeof name === "string") {
            const key = name.toLowerCase();
            waiting.set(key, [...(waiting.get(key) ?? []), item]);
            break;
          }
        }
        yield* evaluate(hasMetadata ? metadata.embed(item.record) : item.record, item.origin);
        break;
      }
    }
  }
  for (const held of waiting.values()) {
    for (const item of held) {
      notify({ kind: "missingMetadata", id: stableId(item.record) ?? "(no id)" }, item.origin);
      yield* evaluate(item.record, item.origin);
    }
  }
}
