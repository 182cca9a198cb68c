export { compileRule, compileSource, RuleCompileError, type CompiledSource, type CompileOptions, type RecordPredicate } from "./compile.js";
export { compileConfiguration, type CompiledConfiguration } from "./configuration.js";
export { parseJsonPath, type PathSegment } from "./jsonpath.js";
