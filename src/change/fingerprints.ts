import { DATA_TYPES, type DataType } from "../datatypes/registry.js";
import type { ChangeRule } from "../datatypes/change-rule.js";

/** Each data type's change rule (defined with the type, in src/datatypes/), by name. */
export const CHANGE_RULES: Readonly<Record<DataType, ChangeRule>> = Object.fromEntries(DATA_TYPES.map((d) => [d.name, d.change])) as Record<DataType, ChangeRule>;
