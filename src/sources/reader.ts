import { coveringScopes, normalizeScopePath } from "../config/automation.js";
import { AssessmentMetadataIndex, hasEmbeddedMetadata } from "../records/metadata.js";
import type { DataType } from "../records/kinds.js";
import { API_VERSIONS } from "./api-versions.js";
import { ArmPager, RequestCounter, type ArmConnectionOptions, type PageContext } from "./arm.js";

type Json = Record<string, unknown>;

/** Where a record sits in the hierarchy it was read from; the record itself stays in the wire shape. */
export interface RecordContext {
  /** Findings: the key (name) of their parent recommendation. */
  parentAssessmentKey?: string;
  /** Regulatory compliance assessments: their standard and control. */
  standard?: string;
  control?: string;
}

/** Where a record was in its list: the page it came on and its place there; a pass resumes from it. */
export interface Cursor {
  url: string;
  index: number;
}

export interface SourceRecord {
  dataType: DataType;
  /** Flat lists only (not the compliance hierarchy, which restarts). */
  cursor?: Cursor;
  /** The configured scope the record was read for. */
  scope: string;
  record: Json;
  context?: RecordContext;
}

/** The data types with a list endpoint in @azure/arm-security (attack paths have none). */
export const READABLE_DATA_TYPES = ["alert", "assessment", "subAssessment", "secureScore", "secureScoreControl", "regulatoryComplianceAssessment"] as const satisfies readonly DataType[];
export type ReadableDataType = (typeof READABLE_DATA_TYPES)[number];

const API = API_VERSIONS;
const SECURITY = "providers/Microsoft.Security";

export interface ReadStats {
  requests: number;
  pages: number;
  records: Record<ReadableDataType, number>;
  /** Assessments whose metadata was not found: exported without it (severity rules cannot match them). */
  assessmentsWithoutMetadata: number;
}

export interface ArmReaderOptions extends ArmConnectionOptions {
  /** Requests in flight at once where a list fans out (compliance controls). */
  concurrency?: number;
}

/**
 * Reads Defender for Cloud data for scopes, one async iterable of records per call, page by page: one
 * request per page, never one per record, and no more than a page (or a few controls) held at a time.
 */
export class ArmReader {
  readonly #options: ArmReaderOptions;
  readonly #counter = new RequestCounter();
  readonly #pagers = new Map<string, ArmPager>();
  readonly #records: Record<ReadableDataType, number> = {
    alert: 0,
    assessment: 0,
    subAssessment: 0,
    secureScore: 0,
    secureScoreControl: 0,
    regulatoryComplianceAssessment: 0,
  };
  #withoutMetadata = 0;
  #tenantMetadata: Json[] | undefined;

  constructor(options: ArmReaderOptions) {
    this.#options = options;
  }

  get stats(): ReadStats {
    return { requests: this.#counter.requests, pages: this.#counter.pages, records: { ...this.#records }, assessmentsWithoutMetadata: this.#withoutMetadata };
  }

  /**
   * Every record of the data types for the scopes. Scopes are deduplicated (a resource group inside a
   * listed subscription is read once, with the subscription); secure scores and compliance exist per
   * subscription, so they are read once for each subscription the scopes touch.
   */
  async *read(scopes: readonly string[], dataTypes: readonly DataType[]): AsyncGenerator<SourceRecord> {
    const groups = groupScopes(scopes);
    for (const dataType of dataTypes) {
      for (const [subscriptionId, subscriptionScopes] of groups) {
        switch (dataType) {
          case "alert":
            for (const scope of subscriptionScopes) yield* this.alerts(scope);
            break;
          case "assessment": {
            const metadata = await this.assessmentMetadata(subscriptionId);
            for (const scope of subscriptionScopes) yield* this.assessments(scope, metadata);
            break;
          }
          case "subAssessment":
            for (const scope of subscriptionScopes) yield* this.subAssessments(scope);
            break;
          case "secureScore":
            yield* this.secureScores(subscriptionId);
            break;
          case "secureScoreControl":
            yield* this.secureScoreControls(subscriptionId);
            break;
          case "regulatoryComplianceAssessment":
            yield* this.regulatoryCompliance(subscriptionId);
            break;
          case "attackPath":
            break; // no endpoint in @azure/arm-security
        }
      }
    }
  }

  /**
   * One data type's records at one scope, without the scope bookkeeping of `read` (a pass reads this way):
   * the type's own generator, not a layer around it, since every record goes through each layer.
   */
  list(scope: string, dataType: DataType): AsyncIterable<SourceRecord> {
    const subscriptionId = subscriptionOf(scope);
    const subscriptionScope = `/subscriptions/${subscriptionId}`;
    switch (dataType) {
      case "alert":
        return this.alerts(scope);
      case "assessment":
        return (async function* (reader: ArmReader) {
          yield* reader.assessments(scope, await reader.assessmentMetadata(subscriptionId));
        })(this);
      case "subAssessment":
        return this.subAssessments(scope);
      case "secureScore":
        return this.#list("secureScore", subscriptionScope, `${subscriptionScope}/${SECURITY}/secureScores?api-version=${API.secureScores}`);
      case "secureScoreControl":
        return this.secureScoreControls(subscriptionId);
      case "regulatoryComplianceAssessment":
        return this.regulatoryCompliance(subscriptionId);
      case "attackPath":
        return (async function* () {})();
    }
  }

  /**
   * A data type's records from where an earlier read stopped: the page of `from`, from its place there.
   * The compliance hierarchy has no single list to resume and is read from its start.
   */
  async *resume(scope: string, dataType: DataType, from: Cursor): AsyncGenerator<SourceRecord> {
    const subscriptionId = subscriptionOf(scope);
    switch (dataType) {
      case "alert":
      case "subAssessment":
      case "secureScore":
      case "secureScoreControl":
        for await (const item of this.#list(dataType, scope, from.url, from.index)) yield dataType === "subAssessment" ? withParent(item) : item;
        break;
      case "assessment":
        yield* this.assessments(scope, await this.assessmentMetadata(subscriptionId), from);
        break;
      case "regulatoryComplianceAssessment":
        yield* this.regulatoryCompliance(subscriptionId);
        break;
      case "attackPath":
        break;
    }
  }

  /** Security alerts at a subscription or resource group scope. */
  async *alerts(scope: string): AsyncGenerator<SourceRecord> {
    yield* this.#list("alert", scope, `${scope}/${SECURITY}/alerts?api-version=${API.alerts}`);
  }

  /** Recommendations, each with its metadata embedded as properties.metadata. */
  async *assessments(scope: string, metadata: AssessmentMetadataIndex, from?: Cursor): AsyncGenerator<SourceRecord> {
    const path = from?.url ?? `${scope}/${SECURITY}/assessments?api-version=${API.assessments}`;
    for await (const item of this.#list("assessment", scope, path, from?.index ?? 0)) {
      if (!hasEmbeddedMetadata(item.record) && !metadata.has(item.record)) this.#withoutMetadata++;
      yield { ...item, record: metadata.embed(item.record) as Json };
    }
  }

  /** Findings at the scope, each with its parent recommendation's key. */
  async *subAssessments(scope: string): AsyncGenerator<SourceRecord> {
    for await (const item of this.#list("subAssessment", scope, `${scope}/${SECURITY}/subAssessments?api-version=${API.subAssessments}`)) yield withParent(item);
  }

  async *secureScores(subscriptionId: string): AsyncGenerator<SourceRecord> {
    const scope = `/subscriptions/${subscriptionId}`;
    yield* this.#list("secureScore", scope, `${scope}/${SECURITY}/secureScores?api-version=${API.secureScores}`);
  }

  /** Secure score controls with their definitions (display name, max score, assessments). */
  async *secureScoreControls(subscriptionId: string): AsyncGenerator<SourceRecord> {
    const scope = `/subscriptions/${subscriptionId}`;
    yield* this.#list("secureScoreControl", scope, `${scope}/${SECURITY}/secureScoreControls?api-version=${API.secureScores}&$expand=definition`);
  }

  /** Standards, their controls and the controls' assessments; each assessment carries its standard and control. */
  async *regulatoryCompliance(subscriptionId: string): AsyncGenerator<SourceRecord> {
    const scope = `/subscriptions/${subscriptionId}`;
    const pager = this.#pager(subscriptionId);
    const standardsPath = `${scope}/${SECURITY}/regulatoryComplianceStandards`;
    const version = `api-version=${API.regulatoryCompliance}`;
    for await (const standards of pager.pages(`${standardsPath}?${version}`, { scope, dataType: "regulatoryComplianceStandards" })) {
      for (const standard of standards.value) {
        const standardName = String(standard["name"]);
        const controlsPath = `${standardsPath}/${encodeURIComponent(standardName)}/regulatoryComplianceControls`;
        const controls = async function* () {
          for await (const page of pager.pages(`${controlsPath}?${version}`, { scope, dataType: `regulatoryComplianceControls of ${standardName}` })) yield* page.value;
        };
        const assessmentsOf = async (control: Json): Promise<SourceRecord[]> => {
          const controlName = String(control["name"]);
          const out: SourceRecord[] = [];
          const path = `${controlsPath}/${encodeURIComponent(controlName)}/regulatoryComplianceAssessments?${version}`;
          for await (const page of pager.pages(path, { scope, dataType: `regulatoryComplianceAssessments of ${standardName}/${controlName}` })) {
            for (const record of page.value) out.push({ dataType: "regulatoryComplianceAssessment", scope, record, context: { standard: standardName, control: controlName } });
          }
          return out;
        };
        // The controls list keeps its next page in flight too: one less for the fan-out keeps the bound.
        for await (const batch of inOrder(controls(), Math.max(1, (this.#options.concurrency ?? 4) - 1), assessmentsOf)) {
          for (const item of batch) {
            this.#records.regulatoryComplianceAssessment++;
            yield item;
          }
        }
      }
    }
  }

  /** Assessment metadata, built-in (tenant level, fetched once per reader) and the subscription's custom ones. */
  async assessmentMetadata(subscriptionId: string): Promise<AssessmentMetadataIndex> {
    const pager = this.#pager(subscriptionId);
    const version = `api-version=${API.assessments}`;
    if (this.#tenantMetadata === undefined) {
      const tenant: Json[] = [];
      for await (const page of pager.pages(`/${SECURITY}/assessmentMetadata?${version}`, { scope: "/", dataType: "assessmentMetadata" })) tenant.push(...page.value);
      this.#tenantMetadata = tenant;
    }
    const index = new AssessmentMetadataIndex();
    for (const m of this.#tenantMetadata) index.add(m);
    const scope = `/subscriptions/${subscriptionId}`;
    for await (const page of pager.pages(`${scope}/${SECURITY}/assessmentMetadata?${version}`, { scope, dataType: "assessmentMetadata" })) {
      for (const m of page.value) index.add(m);
    }
    return index;
  }

  /** A list's records page by page; `path` may be a page's absolute URL (a resumed read) and `skip` its first records. */
  async *#list(dataType: ReadableDataType, scope: string, path: string, skip = 0): AsyncGenerator<SourceRecord> {
    const pager = this.#pager(subscriptionOf(scope));
    for await (const page of pager.pages(path, { scope, dataType } satisfies Omit<PageContext, "page">)) {
      const first = page.url === path ? skip : 0;
      for (let index = first; index < page.value.length; index++) {
        this.#records[dataType]++;
        yield { dataType, scope, record: page.value[index]!, cursor: { url: page.url, index } };
      }
    }
  }

  #pager(subscriptionId: string): ArmPager {
    let pager = this.#pagers.get(subscriptionId);
    if (pager === undefined) {
      pager = new ArmPager(subscriptionId, this.#options, this.#counter);
      this.#pagers.set(subscriptionId, pager);
    }
    return pager;
  }
}

function withParent(item: SourceRecord): SourceRecord {
  const parent = /\/assessments\/([^/]+)\/subassessments\//i.exec(String(item.record["id"]))?.[1];
  return parent === undefined ? item : { ...item, context: { parentAssessmentKey: parent } };
}

function subscriptionOf(scope: string): string {
  const m = /^\/subscriptions\/([^/]+)/i.exec(scope);
  if (!m) throw new Error(`not a subscription or resource group scope: ${scope}`);
  return m[1]!;
}

/** Scopes by subscription, without duplicates or resource groups that a listed subscription covers. */
export function groupScopes(scopes: readonly string[]): Map<string, string[]> {
  const normalized = [...new Set(scopes.map((s) => {
    const n = normalizeScopePath(s);
    if (n === undefined) throw new Error(`invalid scope ${JSON.stringify(s)}; expected /subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>`);
    return n;
  }))];
  const covering = coveringScopes(normalized);
  const kept = normalized.filter((_, i) => covering[i] === undefined);
  const groups = new Map<string, string[]>();
  for (const scope of kept) {
    const sub = subscriptionOf(scope);
    groups.set(sub, [...(groups.get(sub) ?? []), scope]);
  }
  return groups;
}

/**
 * Runs `fetch` on up to `limit` items at once and yields the results in the items' order, so that a
 * fan-out (one request per compliance control) is bounded in both requests and memory.
 */
export async function* inOrder<T, R>(items: AsyncIterable<T>, limit: number, fetch: (item: T) => Promise<R>): AsyncGenerator<R> {
  const pending: Promise<R>[] = [];
  const start = (item: T) => {
    const p = fetch(item);
    p.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    pending.push(p);
  };
  for await (const item of items) {
    start(item);
    if (pending.length >= Math.max(1, limit)) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}
