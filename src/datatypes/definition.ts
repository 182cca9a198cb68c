import type { ChangeRule } from "./change-rule.js";
import type { EventSource } from "../config/enums.js";
import type { TableDefinition } from "../records/columns.js";
import type { Json, OutgoingRecord, RecordContext } from "../records/record.js";

/**
 * Everything that is particular to one Defender data type, as data and small functions; the stages
 * (sources, change, mapping, engine, cli) hold the mechanisms and look the type up in the registry.
 */
export interface DataTypeDefinition<Name extends string = string, Table extends string = string> {
  /** Its name in state, pass records, read statistics and errors. */
  name: Name;
  /** In words, plural (messages). */
  label: string;
  /** The configuration's event sources that export it: changes as they come, and the scheduled full state. */
  eventSources: { stream: EventSource; snapshot?: EventSource };
  /** What `read --types` takes for it: the first is the name shown, any others are accepted too. */
  cliNames: readonly [string, ...string[]];
  /**
   * Its records' ARM `type`, as ARM spells it today first (a removed record carries that one); lists and
   * api-versions spell some of them differently. Matched without regard to case.
   */
  armTypes: readonly [string, ...string[]];
  /** Types of records that come with it in a dump but are not exported (hierarchy levels, definitions). */
  notExportedArmTypes?: readonly string[];
  /** The Microsoft.Security api-version its records are read with; Event Hubs enrichment states it. */
  apiVersion: string;
  read: ReadPlan;
  /** Its rows in Resource Graph: how a configuration with `reader: "resourceGraph"` reads it (attack paths always). */
  graph: GraphRows;
  /** Records of another list joined into each of these by name, as `properties.metadata`. */
  metadata?: { list: string; armType: string };
  change: ChangeRule;
  /** The Log Analytics table its rows go to. */
  table?: TableDefinition<Table>;
  eventHub: EventHubShape;
  /** The resource its events are about: one resource's events keep their order. */
  subject: (input: OutgoingRecord) => string | undefined;
  /** Rule paths that name fields of an older model of the record, resolved on the ARM record (lower-cased first name). */
  ruleAliases?: ReadonlyMap<string, (record: Json) => unknown>;
}

/** How a data type's records are read: src/sources/ has a reader for each kind. */
export type ReadPlan = ArmListPlan | ArmNestedListPlan | ResourceGraphPlan;

/** One Microsoft.Security list, page by page; a stopped read resumes from a page. */
export interface ArmListPlan {
  kind: "armList";
  /** The list under `<scope>/providers/Microsoft.Security/`. */
  list: string;
  /** Query parameters after the api-version. */
  query?: string;
  /** "scope": listed at each configured scope; "subscription": once for each subscription the scopes touch. */
  level: "scope" | "subscription";
  /** Where a record sits, from the record (its id). */
  context?: (record: Json) => RecordContext | undefined;
}

/**
 * Records two lists below a subscription's parent list: every parent's children, every child's records (the
 * records of several children fetched at once). Not resumable: a stopped read starts again.
 */
export interface ArmNestedListPlan {
  kind: "armNestedList";
  parents: string;
  children: string;
  records: string;
  /** What a record carries of the parent and child it was listed under (their names). */
  context: (parent: string, child: string) => RecordContext;
}

/** A data type's rows in Resource Graph's `securityresources` table. */
export interface GraphRows {
  /** The rows' `type`, lower case as Resource Graph keeps it. */
  type: string;
  /**
   * How a resource group scope selects rows: by their `resourceGroup` column; for rows that belong to no group,
   * by a KQL expression whose text holds the ids of the resources a row concerns (in the group when one is), or
   * the whole subscription's (scores and compliance, as the Microsoft.Security lists are read).
   */
  inResourceGroup: { column: "resourceGroup" } | { mentionedIn: string } | { wholeSubscription: true };
}

/**
 * Rows of Resource Graph, for data that no Microsoft.Security list serves. Not resumable: a skip token is an
 * offset into a result that changes, so a stopped read starts again.
 */
export interface ResourceGraphPlan extends GraphRows {
  kind: "resourceGraph";
}

/** What Event Hubs receive for the type, beyond the ARM record with `securityEventDataEnrichment`. */
export interface EventHubShape {
  /** The event type: the XDR envelope's category, and the name of the type's own hub. */
  category: string;
  /** The built-in export's event instead of the ARM record (format "defender"). */
  defenderEvent?: (input: OutgoingRecord) => Json;
  /** Its own enrichment key beside securityEventDataEnrichment, with tenantId, kind, location and tags (null) as the built-in export sends. */
  enrichmentKey?: string;
  /** Whether the destination's findingsShape applies: "pascal" sends the PascalCase form. */
  findings?: boolean;
}

/** A definition as written, its name and table kept as literal types (the registry derives its unions from them). */
export function defineDataType<Name extends string, Table extends string = never>(definition: DataTypeDefinition<Name, Table>): DataTypeDefinition<Name, Table> {
  return definition;
}
