export { ArmPager, ArmReadError, armTokenScope, DEFAULT_ARM_ENDPOINT, RequestCounter, type ArmConnectionOptions, type PageContext } from "./arm.js";
export { defaultCredential } from "./credentials.js";
export { armEndpointFrom } from "./environment.js";
export { ArmReader, groupScopes, inOrder, READABLE_DATA_TYPES, type ArmReaderOptions, type ReadableDataType, type ReadStats, type RecordContext, type SourceRecord } from "./reader.js";
