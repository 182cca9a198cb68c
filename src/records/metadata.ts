import { isObject } from "../shared/object.js";

/**
 * Assessments carry their severity in their metadata, not in the list item. The built-in export
 * evaluates and exports an assessment with its metadata embedded as `properties.metadata`, as
 * `$expand=metadata` returns it; this does the same from assessmentMetadata records, joined by name.
 */

type JsonObject = Record<string, unknown>;

export function hasEmbeddedMetadata(assessment: unknown): boolean {
  return isObject(assessment) && isObject(assessment["properties"]) && isObject(assessment["properties"]["metadata"]);
}

export class AssessmentMetadataIndex {
  readonly #byName = new Map<string, JsonObject>();

  /** `under`: an index consulted for what this one lacks (a tenant's list under a subscription's own), held once for all. */
  constructor(private readonly under?: AssessmentMetadataIndex) {}

  /** Indexes an assessmentMetadata record; false when it has no name or properties. */
  add(metadataRecord: unknown): boolean {
    if (!isObject(metadataRecord)) return false;
    const name = metadataRecord["name"];
    const properties = metadataRecord["properties"];
    if (typeof name !== "string" || !isObject(properties)) return false;
    this.#byName.set(name.toLowerCase(), properties);
    return true;
  }

  get size(): number {
    return this.#byName.size + (this.under?.size ?? 0);
  }

  has(assessment: unknown): boolean {
    return this.#lookup(assessment) !== undefined;
  }

  /**
   * The assessment with `properties.metadata` set from the index; the record itself when it already
   * has metadata, or when none is known (then severity rules cannot match it).
   */
  embed(assessment: unknown): unknown {
    if (hasEmbeddedMetadata(assessment)) return assessment;
    const metadata = this.#lookup(assessment);
    if (metadata === undefined || !isObject(assessment)) return assessment;
    const properties = isObject(assessment["properties"]) ? assessment["properties"] : {};
    return { ...assessment, properties: { ...properties, metadata } };
  }

  #lookup(assessment: unknown): JsonObject | undefined {
    if (!isObject(assessment)) return undefined;
    const name = assessment["name"];
    if (typeof name !== "string") return undefined;
    const key = name.toLowerCase();
    return this.#byName.get(key) ?? this.under?.lookupName(key);
  }

  lookupName(lowerCaseName: string): JsonObject | undefined {
    return this.#byName.get(lowerCaseName) ?? this.under?.lookupName(lowerCaseName);
  }
}
