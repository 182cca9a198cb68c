export type { ChangeRule } from "./change-rule.js";
export type { ArmListPlan, ArmNestedListPlan } from "./definition.js";
export {
  byEventSource,
  classifyRecord,
  DATA_TYPES,
  definitionOf,
  EVENT_SOURCE_DATA_TYPE,
  isReadable,
  isSnapshotSource,
  LOG_ANALYTICS_TABLES,
  READABLE_DATA_TYPES,
  removedRecord,
  TABLES,
  tableFor,
  type DataType,
  type LogAnalyticsTable,
  type RegisteredDataType,
} from "./registry.js";
