import { assessedResourceId } from "../records/record.js";
import { differs, fieldsHash } from "./change-rule.js";
import { defineDataType } from "./definition.js";

/** Attack paths are in the configuration model, but nothing can read them yet: sources of this type export nothing. */
export const attackPath = defineDataType({
  name: "attackPath",
  label: "attack paths",
  eventSources: { stream: "AttackPaths", snapshot: "AttackPathsSnapshot" },
  cliNames: ["attackPaths"],
  armTypes: ["Microsoft.Security/attackPaths"],
  apiVersion: "",
  read: { kind: "notReadable", why: "no endpoint in @azure/arm-security" },
  change: { fingerprint: (r) => fieldsHash(r), changed: differs, removable: false },
  eventHub: { category: "AttackPaths" },
  subject: assessedResourceId,
});
