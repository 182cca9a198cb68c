import type { ExportConfiguration } from "../config/model.js";
import type { DataType } from "../datatypes/registry.js";
import { compileSource, type CompiledSource, type CompileOptions } from "./compile.js";

export interface CompiledConfiguration {
  readonly sources: readonly CompiledSource[];
  /** The sources that read records of a data type, in configuration order. */
  sourcesFor(dataType: DataType): readonly CompiledSource[];
}

/** Compiles every source's rules once, for the life of the configuration. */
export function compileConfiguration(configuration: ExportConfiguration, options: CompileOptions = {}): CompiledConfiguration {
  const sources = configuration.sources.map((s) => compileSource(s, options));
  const byType = new Map<DataType, CompiledSource[]>();
  for (const s of sources) byType.set(s.dataType, [...(byType.get(s.dataType) ?? []), s]);
  return { sources, sourcesFor: (dataType) => byType.get(dataType) ?? [] };
}
