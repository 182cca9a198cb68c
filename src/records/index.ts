export { AssessmentMetadataIndex, hasEmbeddedMetadata } from "./metadata.js";
export { stableId, type ChangeKind, type Json, type OutgoingRecord, type RecordContext } from "./record.js";
