import { TABLES } from "../datatypes/registry.js";
import { customTableName, defaultStreamName } from "../records/columns.js";
import { streamDeclaration, tableSchema } from "./to-row.js";

/**
 * What the deployment (infra/) loads to create the six custom tables and the data collection rule: made
 * from the data types' table definitions, never by hand, so that what the mapper writes is what the rule declares.
 */
export function infraDocuments(): { tables: unknown; dataCollectionRule: unknown } {
  return {
    tables: TABLES.map((t) => ({ ...tableSchema(t), description: `${t.table} rows written by defender-export (continuous export of Microsoft Defender for Cloud)` })),
    dataCollectionRule: {
      streamDeclarations: Object.fromEntries(TABLES.map((t) => [defaultStreamName(t.table), streamDeclaration(t)])),
      // "workspace" is the destination's name in the rule (infra/app/log-analytics-destination.bicep).
      dataFlows: TABLES.map((t) => ({ streams: [defaultStreamName(t.table)], destinations: ["workspace"], transformKql: "source", outputStream: `Custom-${customTableName(t.table)}` })),
    },
  };
}
