import type { Command } from "../command.js";
import { exportCommand } from "./export.js";
import { original } from "./original.js";
import { preview } from "./preview.js";
import { read } from "./read.js";
import { replay } from "./replay.js";
import { validate } from "./validate.js";

/** The commands, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [validate, preview, read, replay, original, exportCommand];
