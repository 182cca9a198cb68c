import { DATA_TYPES, type DataType, type RegisteredDataType } from "../../datatypes/registry.js";
import { ArmReader } from "../../sources/reader.js";
import { defaultCredential } from "../../sources/credentials.js";
import { identitySettings } from "../../hosting/settings.js";
import { armEndpointOption, UsageError, type Command } from "../command.js";
import { CSV_COLUMNS, csvLine, csvRow } from "../csv.js";
import { EXIT_OK, writeErr, writeOut } from "../io.js";
import { GUID, RESOURCE_GROUP } from "../../config/automation.js";

// The names `read --types` shows, in reading order.
const TYPE_NAMES = DATA_TYPES.map((d) => d.cliNames[0]).join(", ");

function parseTypes(text: string | undefined): DataType[] {
  if (text === undefined) return DATA_TYPES.map((d) => d.name);
  const names = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (names.length === 0) throw new UsageError("--types lists no data type");
  return [
    ...new Set(
      names.map((n) => {
        const named = (d: RegisteredDataType) => d.cliNames.some((c) => c.toLowerCase() === n.toLowerCase());
        const found = DATA_TYPES.find(named);
        if (found === undefined) throw new UsageError(`unknown data type ${JSON.stringify(n)} in --types; expected ${TYPE_NAMES}`);
        return found.name;
      }),
    ),
  ];
}

const SUBSCRIPTION_ID = new RegExp(`^${GUID}$`);
const RESOURCE_GROUP_NAME = new RegExp(`^${RESOURCE_GROUP}$`, "u");

export const read: Command = {
  name: "read",
  summary: "dump Defender for Cloud data from the ARM API as NDJSON or CSV",
  options: {
    subscription: { type: "string", short: "s" },
    "resource-group": { type: "string", short: "g", multiple: true },
    types: { type: "string", short: "t" },
    format: { type: "string", short: "f" },
    reader: { type: "string" },
    "arm-endpoint": { type: "string" },
  },
  help: `Usage: defender-export read --subscription <id> [--resource-group <rg> ...] [--types <list>] [--format ndjson|csv] [--reader arm|resourceGraph]

Reads security data through @azure/arm-security (attack paths through Azure Resource Graph),
page by page, and streams it to stdout:
  ndjson (default)  one record per line in the REST wire shape; recommendations carry their
                    metadata as properties.metadata. Pipe it into \`defender-export preview\`.
  csv               one row per record with the common columns (dataType, id, name, displayName,
                    severity, status, resourceId, score, parent, timeGenerated, scope) and the full
                    properties as JSON; no row limit. Cells a spreadsheet would run as a formula
                    get a leading apostrophe.
--types: ${TYPE_NAMES} (comma-separated; default all;
  "recommendations" and "findings" are accepted too). Secure score and regulatory compliance
  are per subscription, so a resource group scope reads its subscription's; attack paths of a
  resource group are those through one of its resources.
--reader resourceGraph reads every type through Azure Resource Graph, brought to the same shape.

Credentials: DefaultAzureCredential: \`az login\` on a laptop, the managed identity in Azure
(AZURE_CLIENT_ID selects a user-assigned one). The identity needs Security Reader.
Endpoint: --arm-endpoint, else ARM_ENDPOINT, else https://management.azure.com (sovereign
clouds: https://management.usgovcloudapi.net, https://management.chinacloudapi.cn).
Certificates trusted through NODE_EXTRA_CA_CERTS are used.
A summary (records per type, pages, ARM requests) goes to stderr; a progress line too when
stderr is a terminal. A page that still fails after the SDK's retries ends the read (exit 1)
with the scope, data type and page.

Examples:
  defender-export read -s 00000000-0000-0000-0000-000000000000 --types alerts > alerts.ndjson
  defender-export read -s 00000000-0000-0000-0000-000000000000 -g my-rg -t recommendations,findings -f csv > findings.csv
  defender-export read -s <id> -t alerts | defender-export preview -c my-export.json`,
  async run(values, positionals, io) {
    if (positionals.length > 0) throw new UsageError(`read takes no arguments; got ${positionals.join(" ")}`);
    const subscription = values["subscription"];
    if (typeof subscription !== "string") throw new UsageError("read needs --subscription <subscription id>");
    if (!SUBSCRIPTION_ID.test(subscription)) throw new UsageError(`--subscription ${JSON.stringify(subscription)} is not a subscription id (a GUID)`);
    const format = values["format"] ?? "ndjson";
    if (format !== "ndjson" && format !== "csv") throw new UsageError(`--format ${JSON.stringify(format)}: expected ndjson or csv`);
    const types = parseTypes(typeof values["types"] === "string" ? values["types"] : undefined);
    const groups = Array.isArray(values["resource-group"]) ? values["resource-group"] : [];
    for (const g of groups) if (!RESOURCE_GROUP_NAME.test(g)) throw new UsageError(`--resource-group ${JSON.stringify(g)} is not a resource group name`);
    const scopes = groups.length === 0 ? [`/subscriptions/${subscription}`] : groups.map((g) => `/subscriptions/${subscription}/resourceGroups/${g}`);
    const endpoint = armEndpointOption(values, io);
    const via = values["reader"] ?? "arm";
    if (via !== "arm" && via !== "resourceGraph") throw new UsageError(`--reader ${JSON.stringify(via)}: expected arm or resourceGraph`);

    const reader = new ArmReader({ credential: defaultCredential(identitySettings(io.env).clientId), endpoint });
    const progress = (io.stderr as { isTTY?: boolean }).isTTY === true;
    if (format === "csv" && !(await writeOut(io.stdout, csvLine(CSV_COLUMNS)))) return EXIT_OK;
    let count = 0;
    for await (const item of reader.read(scopes, types, via)) {
      const line = format === "csv" ? csvLine(csvRow(item)) : `${JSON.stringify(item.record)}\n`;
      if (!(await writeOut(io.stdout, line))) break;
      if (progress && ++count % 500 === 0) io.stderr.write(`\rread ${count} records, ${reader.stats.pages} pages`);
    }
    const stats = reader.stats;
    const perType = Object.entries(stats.records)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t} ${n}`)
      .join(", ");
    const total = Object.values(stats.records).reduce((a, b) => a + b, 0);
    writeErr(
      io,
      `${progress ? "\r" : ""}read ${total} records${perType ? ` (${perType})` : ""} in ${stats.pages} pages with ${stats.requests} ARM requests${stats.assessmentsWithoutMetadata > 0 ? `; ${stats.assessmentsWithoutMetadata} recommendations had no metadata` : ""}`,
    );
    return EXIT_OK;
  },
};
