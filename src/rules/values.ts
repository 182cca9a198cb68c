import type { PropertyType } from "../config/enums.js";

/** A value converted to a rule's property type. */
export type TypedValue = string | number | boolean;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Converts a rule's `expectedValue` (always a string in the automations model) to its property type.
 * Returns undefined when it cannot be converted.
 */
export function convertExpectedValue(text: string, type: PropertyType): TypedValue | undefined {
  switch (type) {
    case "String":
      return text;
    case "Integer": {
      const t = text.trim();
      if (!INTEGER.test(t)) return undefined;
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case "Number": {
      const t = text.trim();
      if (!NUMBER.test(t)) return undefined;
      const n = Number(t);
      return Number.isFinite(n) ? n : undefined;
    }
    case "Boolean": {
      const t = text.trim().toLowerCase();
      return t === "true" ? true : t === "false" ? false : undefined;
    }
  }
}

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
