import { deadLettersReplay } from "./dead-letters-replay.js";
import { deadLetters } from "./dead-letters.js";
import type { FunctionDefinition } from "./definitions.js";
import { exportPreview } from "./export-preview.js";
import { exportRun } from "./export-run.js";
import { exportSnapshot } from "./export-snapshot.js";
import { exportStatus } from "./export-status.js";
import { exportItem } from "./export.js";
import { exportsList } from "./exports-list.js";
import { health } from "./health.js";
import { openApi } from "./openapi.js";
import { passWorker } from "./pass-worker.js";
import { snapshotTimer } from "./snapshot-timer.js";
import { streamTimer } from "./stream-timer.js";

/** Every function of the app: the Functions host registers them (index.ts), the local host serves them. */
export const FUNCTIONS: readonly FunctionDefinition[] = [
  exportsList,
  exportItem,
  exportRun,
  exportSnapshot,
  exportPreview,
  exportStatus,
  deadLetters,
  deadLettersReplay,
  health,
  openApi(() => FUNCTIONS),
  streamTimer,
  snapshotTimer,
  passWorker,
];
