import { createHash } from "node:crypto";
import { coveringScopes, managementGroupOf, normalizeScopePath, unitOf, unitOfSubscription } from "../config/automation.js";
import { DATA_TYPES, definitionOf, type DataType, type RegisteredDataType } from "../datatypes/registry.js";
import type { ArmListPlan, ArmNestedListPlan, GraphRows } from "../datatypes/definition.js";
import type { ReaderKind } from "../config/enums.js";
import { fromGraphRow, type GraphRowResult } from "./graph-shapes.js";
import { AssessmentMetadataIndex, hasEmbeddedMetadata } from "../records/metadata.js";
import { subscriptionOf, type Json, type RecordContext } from "../records/record.js";
import { ArmPager, ArmReadError, ArmTraffic, DEFAULT_ARM_ENDPOINT, type PageContext } from "./arm.js";
import { GRAPH_MAX_SUBSCRIPTIONS, GraphPager, rowsQuery, type GraphPagerOptions, type GraphPartition, type GraphRequest, type PartitionPage } from "./resource-graph.js";

/** Where a record was in its list: the page it came on and its place there; a pass resumes from it. */
export interface ListCursor {
  url: string;
  index: number;
}

/**
 * Where a record was in a Resource Graph listing: its query (`request`: a management group unit's batch of up to
 * 1,000 subscriptions) and its hash partition, `partition` of `of` (0 of 1: the listing read whole). A pass resumes
 * from it by reading that partition again from its first page, then the rest. A unit's cursor also holds a digest of
 * the subscriptions it read (`members`): when they are not the same when the pass goes on, it reads them all again.
 */
export interface GraphCursor {
  graph: { request: number; partition: number; of: number; members?: string };
}

/** Where a pass goes on from (src/state/store.ts holds its schema). */
export type Cursor = ListCursor | GraphCursor;

export const isGraphCursor = (cursor: Cursor | null | undefined): cursor is GraphCursor => cursor != null && "graph" in cursor;

export interface SourceRecord {
  dataType: DataType;
  /** Flat lists and Resource Graph listings (not nested lists, which restart). */
  cursor?: Cursor;
  /** The configured scope the record was read for (its subscription, for lists kept per subscription). */
  scope: string;
  record: Json;
  context?: RecordContext;
}

const SECURITY = "providers/Microsoft.Security";

export interface ReadStats {
  requests: number;
  pages: number;
  records: Record<DataType, number>;
  /** Records whose metadata was not found (recommendations): exported without it (severity rules cannot match them). */
  assessmentsWithoutMetadata: number;
  /** Time spent waiting for Resource Graph's quota to reset. */
  quotaWaitMs: number;
}

export interface ArmReaderOptions extends GraphPagerOptions {
  /** Requests in flight at once where a list fans out (compliance controls). */
  concurrency?: number;
  /** Management groups' members as last asked, shared by a process's readers (each reader has its own otherwise). */
  groupMembers?: GroupMembers;
  /** Subscriptions a Resource Graph query of a management group unit names (Resource Graph's most, 1,000, by default; fewer in tests). */
  subscriptionsPerQuery?: number;
}

/** How old a group's members may be for a unit to choose what to read (removals always ask after their read). */
const MEMBERS_FRESH_MS = 60_000;

/**
 * Who is in each management group, as Resource Graph last answered, shared by the readers of a process: every unit
 * pass of every source asks, and most need an answer no older than a minute. An answer asked after
 * `notBefore` (strictly: one asked in the same millisecond may have been asked before it) is given again, as one
 * being asked since then; a failed one is not kept.
 */
export class GroupMembers {
  readonly #answers = new Map<string, { askedAt: number; members: Promise<string[]> }>();

  async get(group: string, notBefore: number, ask: () => Promise<string[]>): Promise<string[]> {
    const kept = this.#answers.get(group);
    if (kept !== undefined && kept.askedAt > notBefore) return kept.members;
    const members = ask();
    this.#answers.set(group, { askedAt: Date.now(), members });
    members.catch(() => {
      if (this.#answers.get(group)?.members === members) this.#answers.delete(group);
    });
    return members;
  }
}

/** Who is in a management group: its subscriptions; failing that (Security Reader alone), those with a secure score. */
const MEMBER_QUERIES = [
  "resourcecontainers | where type == 'microsoft.resources/subscriptions' | project id, subscriptionId | order by id asc",
  "securityresources | where type == 'microsoft.security/securescores' | project id, subscriptionId | order by id asc",
];

/**
 * Reads Defender for Cloud data for scopes, one async iterable of records per call, page by page: one
 * request per page, never one per record, and no more than a page (or a few controls) held at a time.
 * What to read for a data type is its read plan (src/datatypes/); this holds a reader per kind of plan.
 */
export class ArmReader {
  readonly #options: ArmReaderOptions;
  readonly #counter = new ArmTraffic();
  readonly #pagers = new Map<string, ArmPager>();
  #graph: GraphPager | undefined;
  /** The subscriptions each unit was read for. */
  readonly #readMembers = new Map<string, ReadonlySet<string>>();
  readonly #groupMembers: GroupMembers;
  /** Per scope and data type, why the last Resource Graph read of it is incomplete (its listing moved). */
  readonly #incomplete = new Map<string, { detail: string; more: number }>();
  readonly #records = Object.fromEntries(DATA_TYPES.map((d) => [d.name, 0])) as Record<DataType, number>;
  #withoutMetadata = 0;
  /** Tenant-wide metadata lists, fetched and indexed once per reader. */
  readonly #tenantMetadata = new Map<string, AssessmentMetadataIndex>();

  constructor(options: ArmReaderOptions) {
    this.#options = options;
    this.#groupMembers = options.groupMembers ?? new GroupMembers();
  }

  get stats(): ReadStats {
    return {
      requests: this.#counter.requests,
      pages: this.#counter.pages,
      records: { ...this.#records },
      assessmentsWithoutMetadata: this.#withoutMetadata,
      quotaWaitMs: this.#graph?.quotaWaitedMs ?? 0,
    };
  }

  /**
   * Every record of the data types for the scopes. Scopes are deduplicated (a resource group inside a
   * listed subscription is read once, with the subscription); lists kept per subscription (secure scores,
   * compliance) are read once for each subscription the scopes touch.
   */
  async *read(scopes: readonly string[], dataTypes: readonly DataType[], via: ReaderKind = "arm"): AsyncGenerator<SourceRecord> {
    const groups = groupScopes(scopes);
    for (const dataType of dataTypes) {
      const definition = definitionOf(dataType);
      const plan = definition.read;
      for (const [subscriptionId, subscriptionScopes] of groups) {
        if (via === "resourceGraph" && plan.kind !== "resourceGraph") {
          const wholeSubscription = "wholeSubscription" in definition.graph.inResourceGroup;
          for (const scope of wholeSubscription ? [`/subscriptions/${subscriptionId}`] : subscriptionScopes) yield* this.#graphRows(definition, definition.graph, scope);
          continue;
        }
        switch (plan.kind) {
          case "armList": {
            const metadata = definition.metadata === undefined ? undefined : await this.#metadata(definition, subscriptionId);
            const listScopes = plan.level === "scope" ? subscriptionScopes : [`/subscriptions/${subscriptionId}`];
            for (const scope of listScopes) yield* this.#armList(definition, plan, scope, metadata);
            break;
          }
          case "armNestedList":
            yield* this.#armNestedList(definition, plan, subscriptionId);
            break;
          case "resourceGraph":
            for (const scope of subscriptionScopes) yield* this.#graphRows(definition, plan, scope);
            break;
        }
      }
    }
  }

  /**
   * One data type's records at one scope, without the scope bookkeeping of `read` (a pass reads this way),
   * from where an earlier read stopped when `from` is given (a nested list starts again). The reader's own
   * generator, not a layer around it, since every record goes through each layer.
   */
  list(scope: string, dataType: DataType, from?: Cursor, via: ReaderKind = "arm"): AsyncIterable<SourceRecord> {
    const definition = definitionOf(dataType);
    const plan = definition.read;
    // A cursor of the other kind (the configuration's reader changed since the stop) is not followed: the read starts again.
    const graphFrom = isGraphCursor(from) ? from : undefined;
    const listFrom = from !== undefined && !isGraphCursor(from) ? from : undefined;
    if (via === "resourceGraph" && plan.kind !== "resourceGraph") return this.#graphRows(definition, definition.graph, scope, graphFrom);
    switch (plan.kind) {
      case "armList": {
        const at = plan.level === "scope" ? scope : `/subscriptions/${subscriptionOfScope(scope)}`;
        if (definition.metadata === undefined) return this.#armList(definition, plan, at, undefined, listFrom);
        return (async function* (reader: ArmReader) {
          yield* reader.#armList(definition, plan, at, await reader.#metadata(definition, subscriptionOfScope(scope)), listFrom);
        })(this);
      }
      case "armNestedList":
        return this.#armNestedList(definition, plan, subscriptionOfScope(scope));
      case "resourceGraph":
        return this.#graphRows(definition, plan, scope, graphFrom);
    }
  }

  /** A data type's records from where an earlier read stopped: the page of `from`, from its place there. */
  resume(scope: string, dataType: DataType, from: Cursor): AsyncIterable<SourceRecord> {
    return this.list(scope, dataType, from);
  }

  /** Security alerts at a subscription or resource group scope. */
  alerts(scope: string): AsyncIterable<SourceRecord> {
    return this.list(scope, "alert");
  }

  /** Recommendations at the scope, joined with the metadata given. */
  assessments(scope: string, metadata: AssessmentMetadataIndex): AsyncIterable<SourceRecord> {
    const definition = definitionOf("assessment");
    if (definition.read.kind !== "armList") throw new Error("recommendations are read from one list");
    return this.#armList(definition, definition.read, scope, metadata);
  }

  /** Findings at the scope, each with its parent recommendation's key. */
  subAssessments(scope: string): AsyncIterable<SourceRecord> {
    return this.list(scope, "subAssessment");
  }

  /** A list's records page by page, from a page's absolute URL and a place on it when resuming. */
  async *#armList(dataType: RegisteredDataType, plan: ArmListPlan, scope: string, metadata?: AssessmentMetadataIndex, from?: ListCursor): AsyncGenerator<SourceRecord> {
    const name = dataType.name;
    const path = from?.url ?? `${scope}/${SECURITY}/${plan.list}?api-version=${dataType.apiVersion}${plan.query === undefined ? "" : `&${plan.query}`}`;
    const skip = from?.index ?? 0;
    const pager = this.#pager(subscriptionOfScope(scope));
    for await (const page of pager.pages(path, { scope, dataType: name } satisfies Omit<PageContext, "page">)) {
      const first = page.url === path ? skip : 0;
      const records: (Json | undefined)[] = page.value;
      for (let index = first; index < records.length; index++) {
        this.#records[name]++;
        let record = records[index]!;
        // Let go of as soon as taken: a page kept whole until its last record is exported outlives the scavenges its
        // export spans, and is copied by each and then promoted (a page is thousands of objects).
        records[index] = undefined;
        if (metadata !== undefined) {
          if (!hasEmbeddedMetadata(record) && !metadata.has(record)) this.#withoutMetadata++;
          record = metadata.embed(record) as Json;
        }
        const cursor = { url: page.url, index };
        const context = plan.context?.(record);
        yield context === undefined ? { dataType: name, scope, record, cursor } : { dataType: name, scope, record, cursor, context };
      }
    }
  }

  /** Every parent's children, every child's records, the records of a few children fetched at once. */
  async *#armNestedList(dataType: RegisteredDataType, plan: ArmNestedListPlan, subscriptionId: string): AsyncGenerator<SourceRecord> {
    const name = dataType.name;
    const scope = `/subscriptions/${subscriptionId}`;
    const pager = this.#pager(subscriptionId);
    const parentsPath = `${scope}/${SECURITY}/${plan.parents}`;
    const version = `api-version=${dataType.apiVersion}`;
    for await (const parents of pager.pages(`${parentsPath}?${version}`, { scope, dataType: plan.parents })) {
      for (const parent of parents.value) {
        const parentName = String(parent["name"]);
        const childrenPath = `${parentsPath}/${encodeURIComponent(parentName)}/${plan.children}`;
        const children = async function* () {
          for await (const page of pager.pages(`${childrenPath}?${version}`, { scope, dataType: `${plan.children} of ${parentName}` })) yield* page.value;
        };
        const recordsOf = async (child: Json): Promise<SourceRecord[]> => {
          const childName = String(child["name"]);
          const out: SourceRecord[] = [];
          const path = `${childrenPath}/${encodeURIComponent(childName)}/${plan.records}?${version}`;
          for await (const page of pager.pages(path, { scope, dataType: `${plan.records} of ${parentName}/${childName}` })) {
            for (const record of page.value) out.push({ dataType: name, scope, record, context: plan.context(parentName, childName) });
          }
          return out;
        };
        // The children list keeps its next page in flight too: one less for the fan-out keeps the bound.
        for await (const batch of inOrder(children(), Math.max(1, (this.#options.concurrency ?? 4) - 1), recordsOf)) {
          for (const item of batch) {
            this.#records[name]++;
            yield item;
          }
        }
      }
    }
  }

  /**
   * The subscriptions in a management group now (lower-cased ids), from Resource Graph's resource containers; for
   * a unit of the group's passes, those of the group in that unit. Asked afresh each time; after this reader read a
   * unit, only those both read and still in the group (a pass removes nothing of a subscription that left between).
   */
  async subscriptionsOf(scope: string): Promise<ReadonlySet<string>> {
    const now = await this.#askMembers(scope, Date.now());
    const read = this.#readMembers.get(scope);
    return read === undefined ? now : new Set([...now].filter((s) => read.has(s)));
  }

  /** The subscriptions this reader last read of a unit of a management group (none asked). */
  subscriptionsRead(scope: string): ReadonlySet<string> | undefined {
    return this.#readMembers.get(scope);
  }

  /**
   * Why this reader's last Resource Graph read of a data type at a scope is incomplete, or undefined: its listing
   * moved while it was read (a row may have been missed), so what it did not see is not known to be gone.
   */
  incompleteRead(scope: string, dataType: DataType): string | undefined {
    const moved = this.#incomplete.get(incompleteKey(scope, dataType));
    if (moved === undefined) return undefined;
    const more = moved.more === 0 ? "" : `, and ${moved.more} more sign${moved.more === 1 ? "" : "s"} of it`;
    return `the listing of ${dataType} moved while it was read (${moved.detail}${more}): removals wait for a complete read`;
  }

  /** A unit's share of its group's members, from an answer Resource Graph gave no earlier than `notBefore` (ms). */
  async #askMembers(scope: string, notBefore: number): Promise<ReadonlySet<string>> {
    const group = managementGroupOf(scope);
    if (group === undefined) throw new Error(`not a management group scope: ${scope}`);
    const unit = unitOf(scope);
    const all = await this.#groupMembers.get(`${this.#options.endpoint ?? DEFAULT_ARM_ENDPOINT}|${group.toLowerCase()}`, notBefore, () => this.#askGroup(scope, group));
    return new Set(unit === undefined ? all : all.filter((id) => unitOfSubscription(id, unit.count) === unit.index));
  }

  async #askGroup(scope: string, group: string): Promise<string[]> {
    this.#graph ??= new GraphPager(this.#options, this.#counter);
    const members = new Set<string>();
    // The subscriptions themselves need Microsoft.Resources/subscriptions/read, which Security Reader lacks; every
    // subscription Defender for Cloud covers has its secure score, which it reads (a subscription without one has
    // nothing to export yet: it joins when it has).
    for (const query of MEMBER_QUERIES) {
      for await (const rows of this.#graph.pages({ query, managementGroups: [group] }, { scope, dataType: "subscriptions" })) {
        for (const row of rows) if (typeof row["subscriptionId"] === "string") members.add(row["subscriptionId"].toLowerCase());
      }
      if (members.size > 0) break;
    }
    // Nothing to read would pass for nothing to export: say it instead.
    if (members.size === 0) {
      throw new ArmReadError(
        { scope, dataType: "subscriptions", page: 1 },
        `Resource Graph shows no subscription in management group ${group}, nor any secure score there: the identity needs Security Reader (or Reader) on the group (see infra/management-group/reader.bicep; a new role can take up to 30 minutes to apply), or the group holds no subscription Defender for Cloud covers`,
      );
    }
    return [...members];
  }

  /**
   * A data type's Resource Graph rows in a subscription, or in a resource group of it, brought to the shape
   * the Microsoft.Security lists give (src/sources/graph-shapes.ts), so that everything after the reader
   * behaves the same whichever read them. Recommendations whose rows lack metadata get it from the metadata lists.
   * From `from` when given: the query and hash partition a stopped read was in (see GraphPager.listing).
   */
  async *#graphRows(dataType: RegisteredDataType, rows: GraphRows, scope: string, from?: GraphCursor): AsyncGenerator<SourceRecord> {
    const group = managementGroupOf(scope);
    const key = incompleteKey(scope, dataType.name);
    this.#incomplete.delete(key);
    const resourceGroup = "wholeSubscription" in rows.inResourceGroup ? undefined : /\/resourceGroups\/([^/]+)$/i.exec(scope)?.[1];
    this.#graph ??= new GraphPager(this.#options, this.#counter);
    const query = (partition?: GraphPartition) => rowsQuery(rows, resourceGroup, partition);
    // What each query runs over: a unit's subscriptions in batches, or the subscription, or the group.
    let batches: Omit<GraphRequest, "query">[];
    let members: string | undefined;
    if (unitOf(scope) !== undefined) {
      // A unit of a management group reads its subscriptions, named (Resource Graph takes up to 1,000 a query).
      const now = await this.#askMembers(scope, Date.now() - MEMBERS_FRESH_MS);
      this.#readMembers.set(scope, now);
      const named = [...now].sort();
      members = digest(named);
      const size = Math.min(GRAPH_MAX_SUBSCRIPTIONS, Math.max(1, this.#options.subscriptionsPerQuery ?? GRAPH_MAX_SUBSCRIPTIONS));
      batches = Array.from({ length: Math.ceil(named.length / size) }, (_, i) => ({ subscriptions: named.slice(i * size, (i + 1) * size) }));
    } else {
      batches = [group === undefined ? { subscriptions: [subscriptionOfScope(scope)] } : { managementGroups: [group] }];
    }
    // A stopped read goes on from its query and partition only over the same subscriptions: the partitions before
    // its own were read for those. Otherwise (a group's members changed, or a group read without units, whose
    // members are not asked) it reads everything again; what the stopped pass sent is not sent twice for that.
    const sameScope = group === undefined || (members !== undefined && from?.graph.members === members);
    const resume = from !== undefined && sameScope && from.graph.request < batches.length ? from.graph : undefined;
    const moved = (detail: string) => {
      const known = this.#incomplete.get(key);
      if (known === undefined) this.#incomplete.set(key, { detail, more: 0 });
      else known.more++;
    };
    // A management group's rows come from many subscriptions, each with its own custom metadata.
    const metadata = new Map<string, AssessmentMetadataIndex>();
    for (let b = resume?.request ?? 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const request = (partition?: GraphPartition) => ({ query: query(partition), ...batch }) as GraphRequest;
      const at = resume !== undefined && b === resume.request ? { index: resume.partition, of: resume.of } : undefined;
      const pages = this.#graph.listing(request, { scope, dataType: dataType.name }, { ...(at ? { from: at } : {}), moved });
      yield* this.#convertedRows(pages, dataType, scope, metadata, { request: b, ...(members === undefined ? {} : { members }) });
    }
  }

  async *#convertedRows(
    pages: AsyncIterable<PartitionPage>,
    dataType: RegisteredDataType,
    scope: string,
    metadata: Map<string, AssessmentMetadataIndex>,
    query: Omit<GraphCursor["graph"], "partition" | "of">,
  ): AsyncGenerator<SourceRecord> {
    const name = dataType.name;
    let page = 0;
    let partition = -1;
    let cursor: GraphCursor | undefined;
    for await (const { rows: pageRows, partition: at } of pages) {
      if (at.index !== partition) {
        partition = at.index;
        page = 0;
        // Every record of a partition goes on from it: one cursor for them all.
        cursor = { graph: { ...query, partition: at.index, of: at.of } };
      }
      page++;
      for (const row of pageRows) {
        let converted: GraphRowResult;
        try {
          converted = fromGraphRow(row);
        } catch (e) {
          const dataTypeAt = at.of > 1 ? `${name} (partition ${at.index + 1} of ${at.of})` : name;
          throw new ArmReadError({ scope, dataType: dataTypeAt, page }, e instanceof Error ? e.message : String(e));
        }
        if (converted.kind === "skipped" || converted.dataType !== name) continue;
        let record = converted.record;
        const rowSubscription = converted.needsMetadata === true ? subscriptionOf(record["id"]) : undefined;
        if (rowSubscription !== undefined) {
          let index = metadata.get(rowSubscription);
          if (index === undefined) metadata.set(rowSubscription, (index = await this.#metadata(dataType, rowSubscription)));
          if (!index.has(record)) this.#withoutMetadata++;
          record = index.embed(record) as Json;
        }
        this.#records[name]++;
        yield converted.context === undefined ? { dataType: name, scope, record, cursor: cursor! } : { dataType: name, scope, record, cursor: cursor!, context: converted.context };
      }
    }
  }

  /** A data type's metadata: the tenant-wide list (fetched once per reader) and the subscription's own. */
  async #metadata(dataType: RegisteredDataType, subscriptionId: string): Promise<AssessmentMetadataIndex> {
    const list = dataType.metadata?.list;
    if (list === undefined) return new AssessmentMetadataIndex();
    const pager = this.#pager(subscriptionId);
    const version = `api-version=${dataType.apiVersion}`;
    let tenant = this.#tenantMetadata.get(list);
    if (tenant === undefined) {
      tenant = new AssessmentMetadataIndex();
      for await (const page of pager.pages(`/${SECURITY}/${list}?${version}`, { scope: "/", dataType: list })) for (const m of page.value) tenant.add(m);
      this.#tenantMetadata.set(list, tenant);
    }
    // A subscription's own (custom) metadata over the tenant's, which a management group's many subscriptions share.
    const index = new AssessmentMetadataIndex(tenant);
    const scope = `/subscriptions/${subscriptionId}`;
    for await (const page of pager.pages(`${scope}/${SECURITY}/${list}?${version}`, { scope, dataType: list })) {
      for (const m of page.value) index.add(m);
    }
    return index;
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

/** A short digest of a unit's subscriptions (sorted), to tell whether a resumed read goes over the same ones. */
function digest(subscriptions: readonly string[]): string {
  return createHash("sha256").update(subscriptions.join(",")).digest("base64url").slice(0, 22);
}

function incompleteKey(scope: string, dataType: DataType): string {
  return `${dataType} ${scope.toLowerCase()}`;
}

function subscriptionOfScope(scope: string): string {
  const subscription = subscriptionOf(scope);
  if (subscription === undefined) throw new Error(`not a subscription or resource group scope: ${scope}`);
  return subscription;
}

/** Scopes by subscription, without duplicates or resource groups that a listed subscription covers. */
export function groupScopes(scopes: readonly string[]): Map<string, string[]> {
  const normalized = [
    ...new Set(
      scopes.map((s) => {
        const n = normalizeScopePath(s);
        if (n === undefined) throw new Error(`invalid scope ${JSON.stringify(s)}; expected /subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>`);
        return n;
      }),
    ),
  ];
  const covering = coveringScopes(normalized);
  const kept = normalized.filter((_, i) => covering[i] === undefined);
  const groups = new Map<string, string[]>();
  for (const scope of kept) {
    const sub = subscriptionOfScope(scope);
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
