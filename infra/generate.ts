// npm run infra:generate: writes the JSON that infra/app/log-analytics-destination.bicep loads. A test fails
// when the committed files differ from what the table definitions in src/datatypes/ make.
import { writeFileSync } from "node:fs";
import { infraDocuments } from "../src/mapping/infra.js";

const documents = infraDocuments();
const write = (name: string, value: unknown) => writeFileSync(new URL(`./generated/${name}`, import.meta.url), `${JSON.stringify(value, null, 2)}\n`);
write("tables.json", documents.tables);
write("data-collection-rule.json", documents.dataCollectionRule);
process.stdout.write("infra/generated/tables.json and infra/generated/data-collection-rule.json written\n");
