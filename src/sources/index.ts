export { ArmPager, ArmReadError, armTokenScope, DEFAULT_ARM_ENDPOINT, ArmTraffic, type ArmConnectionOptions, type PageContext } from "./arm.js";
export { defaultCredential } from "./credentials.js";
export { armEndpointFrom } from "./environment.js";
export { ArmReader, groupScopes, inOrder, type ArmReaderOptions, type Cursor, type ReadStats, type SourceRecord } from "./reader.js";
