export { DATA_TYPES, EVENT_SOURCE_DATA_TYPE, classifyRecord, isSnapshotSource, stableId, type DataType, type RecordClass } from "./kinds.js";
export { AssessmentMetadataIndex, hasEmbeddedMetadata } from "./metadata.js";
