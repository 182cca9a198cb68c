export { BlobStateStore, STATE_CONTAINER } from "./blob-store.js";
export { decodeState, encodeState, type EncodedState } from "./codec.js";
export type { Lease } from "./lease.js";
export { parseRunning, passRecordName, PASS_RECORD_TAG, type RunningPass } from "./pass-log.js";
export { PassSession } from "./session.js";
export { cursorSchema, PASS_MODES, passPrefix, progressSchema, StateConflictError, type ExportState, type PassKey, type PassMode, type PassProgress, type StateStore, type StateToSave } from "./store.js";
