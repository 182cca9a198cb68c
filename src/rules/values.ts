import type { PropertyType } from "../config/enums.js";
import { convertExpectedValue, type TypedValue } from "../config/rule-syntax.js";

/**
 * Converts a value found in a record to the property type, as a JSON token converts in the
 * automations engine: text that spells the type converts, objects, arrays and null never do.
 */
export function convertActualValue(value: unknown, type: PropertyType): TypedValue | undefined {
  switch (type) {
    case "String":
      if (typeof value === "string") return value;
      if (typeof value === "number" && Number.isFinite(value)) return String(value);
      if (typeof value === "boolean") return value ? "true" : "false";
      return undefined;
    case "Integer":
      if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
      if (typeof value === "string") return convertExpectedValue(value, "Integer");
      return undefined;
    case "Number":
      if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
      if (typeof value === "string") return convertExpectedValue(value, "Number");
      return undefined;
    case "Boolean":
      if (typeof value === "boolean") return value;
      if (typeof value === "string") return convertExpectedValue(value, "Boolean");
      return undefined;
  }
}
