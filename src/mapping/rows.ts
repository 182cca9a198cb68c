import { props, type Json, type OutgoingRecord } from "../records/record.js";
import type { ColumnType, TableDefinition } from "../records/columns.js";

/**
 * A record as a row of its table. Every column is assigned, in the table's order, so that all rows of a
 * table share one shape; columns without a value hold undefined, which JSON leaves out (Log Analytics
 * leaves them empty). Column names are ours, never __proto__, so plain assignment is safe.
 */
export function mapToRow(input: OutgoingRecord, table: TableDefinition): Json {
  return builderFor(table)(input, props(input));
}

type RowBuilder = (input: OutgoingRecord, properties: Json) => Json;
const builders = new WeakMap<TableDefinition, RowBuilder>();

/**
 * Builds each table's rows with one object literal, generated once from its definition: all columns are
 * created at once, in one shape, instead of one store at a time. Column names are ours and checked below,
 * so the generated source holds nothing from a record.
 */
function builderFor(table: TableDefinition): RowBuilder {
  let builder = builders.get(table);
  if (builder === undefined) {
    for (const c of table.columns) if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(c.name)) throw new Error(`column name ${c.name} cannot be generated`);
    // Dynamic values pass as they are; strings that are strings need no call: most columns.
    const value = (c: TableDefinition["columns"][number], i: number) => {
      const from = `columns[${i}].from(input, properties)`;
      if (c.type === "dynamic") return `${from} ?? undefined`;
      if (c.type === "string") return `typeof (v = ${from}) === "string" ? v : coerce(v, "string")`;
      return `coerce(${from}, ${JSON.stringify(c.type)})`;
    };
    const fields = table.columns.map((c, i) => `${c.name}: ${value(c, i)}`).join(",\n");
    const make = new Function("columns", "coerce", `return (input, properties) => { let v; return {\n${fields}\n}; };`) as (columns: TableDefinition["columns"], c: typeof coerce) => RowBuilder;
    builder = make(table.columns, coerce);
    builders.set(table, builder);
  }
  return builder;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** A value of the column's type, or undefined when the record's value cannot be one. */
export function coerce(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return undefined;
  switch (type) {
    case "string":
      return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
    case "int":
    case "long": {
      const n = typeof value === "number" ? value : typeof value === "string" && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isInteger(n) ? n : undefined;
    }
    case "real": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      return Number.isFinite(n) ? n : undefined;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "True") return true;
      if (value === "false" || value === "False") return false;
      return undefined;
    case "datetime":
      if (typeof value !== "string") return undefined;
      return ISO_8601.test(value) || !Number.isNaN(Date.parse(value)) ? value : undefined;
    case "dynamic":
      return value;
  }
}
