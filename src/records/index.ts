export { AssessmentMetadataIndex, hasEmbeddedMetadata } from "./metadata.js";
export { stableId, type ExportAction, type Json, type MappingInput, type RecordContext } from "./record.js";
