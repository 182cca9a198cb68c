import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Real API payloads, copied into test/fixtures (see its README for source and licence); the runtime never reads them. */
export const EXAMPLES_DIR = fileURLToPath(new URL("../fixtures/api-examples/", import.meta.url));
export const EVENT_SCHEMAS_DIR = fileURLToPath(new URL("../fixtures/defender-event-schemas/", import.meta.url));

export interface ApiExample {
  parameters: Record<string, unknown>;
  responses: Record<string, { body?: unknown }>;
  title?: string;
}

export function loadExample(relativePath: string): ApiExample {
  return JSON.parse(readFileSync(EXAMPLES_DIR + relativePath, "utf8")) as ApiExample;
}

export function exampleFiles(folder: string): string[] {
  return readdirSync(EXAMPLES_DIR + folder)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => `${folder}/${f}`);
}

/** The records of an example's 200 response: the list's `value`, or the single resource. */
export function exampleRecords(relativePath: string): Record<string, unknown>[] {
  const body = loadExample(relativePath).responses["200"]?.body as Record<string, unknown> | undefined;
  if (body === undefined) throw new Error(`${relativePath} has no 200 body`);
  return (Array.isArray(body["value"]) ? body["value"] : [body]) as Record<string, unknown>[];
}

/** An assessment with its metadata embedded, as the export evaluates it. */
export function assessmentWithMetadata(assessment: Record<string, unknown>, metadata: Record<string, unknown>): Record<string, unknown> {
  return { ...assessment, properties: { ...(assessment["properties"] as object), metadata: metadata["properties"] } };
}
