import { z } from "zod";
import { actionSchemasByType } from "../config/actions.js";
import { scopeSchema, sourceSchema } from "../config/automation.js";
import { CONFIGURATION_NAME } from "../config/model.js";
import { READERS } from "../config/enums.js";
import { passRecordSchema } from "../engine/pass.js";
import type { FunctionDefinition, HttpFunction } from "./definitions.js";
import { previewBodySchema } from "./export-preview.js";
import { json } from "./http.js";
import { RESPONSE_SCHEMAS } from "./responses.js";

const jsonSchema = (schema: z.ZodType, io: "input" | "output" = "input") => z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" });
const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } });

/** The automations form's properties, as the PUT body takes them (the other forms are described in the README). */
const configurationSchema = z.object({
  description: z.string().optional(),
  isEnabled: z.boolean().optional(),
  scopes: z.array(scopeSchema).optional(),
  sources: z.array(sourceSchema),
  // The validating schema dispatches on actionType by hand (for its messages); each type's own schema documents it.
  actions: z.array(z.union(actionSchemasByType({ trustedHosts: [] }))).optional(),
  snapshotSchedule: z.string().optional(),
  baselineSnapshot: z.boolean().optional(),
  reader: z.enum(READERS).optional(),
  managementGroupUnits: z.number().int().min(1).max(64).optional(),
  departedSubscriptionRetentionDays: z.number().int().min(1).max(3650).optional(),
});

const BODIES: Record<string, string> = { export: "Configuration", exportPreview: "PreviewRequest" };

/** The problems an operation can answer: those of a key, a name, a stored configuration, a body, a change. */
function errorsOf(f: HttpFunction, method: string, named: boolean, body: boolean): Record<string, unknown> {
  if (f.authLevel === "anonymous") return {};
  const write = f.writes(method);
  const item = f.name === "export";
  return {
    ...(named || body ? { "400": problem("Bad input (the name, a query parameter, the body, a header), each problem with its path") } : {}),
    "401": { description: "No or wrong function key; or, with DEFENDER_EXPORT_REQUIRE_ROLE, a change without a signed-in caller" },
    ...(write ? { "403": problem("The caller lacks the write role") } : {}),
    ...(named ? { "404": problem("No such configuration") } : {}),
    ...(named && f.name !== "exportStatus" && !(item && method === "DELETE")
      ? { "409": problem("The stored configuration no longer validates; or it is disabled or without actions or scopes (run, snapshot); or one too many (PUT)") }
      : {}),
    ...(item && method !== "GET" ? { "412": problem("If-Match does not match, or the configuration does not exist") } : {}),
    ...(body ? { "413": problem("Body over DEFENDER_EXPORT_MAX_BODY_BYTES") } : {}),
  };
}

/** OpenAPI 3.1 for the HTTP functions, made from their definitions and the zod schemas that validate them. */
export function openApiDocument(functions: readonly FunctionDefinition[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const f of functions.filter((d): d is HttpFunction => d.kind === "http")) {
    const path = `/api/${f.route}`;
    const parameters = [
      ...[...f.route.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string", pattern: CONFIGURATION_NAME.source } })),
      ...(f.query ?? []).map((q) => ({ name: q.name, in: "query", required: false, description: q.description, schema: q.schema })),
    ];
    for (const method of f.methods) {
      const body =
        (method === "PUT" || method === "POST") && BODIES[f.name]
          ? { requestBody: { required: f.name === "export", content: { "application/json": { schema: { $ref: `#/components/schemas/${BODIES[f.name]}` } } } } }
          : {};
      (paths[path] ??= {})[method.toLowerCase()] = {
        operationId: `${f.name}${f.methods.length > 1 ? method[0]! + method.slice(1).toLowerCase() : ""}`,
        parameters,
        security: f.authLevel === "function" ? [{ functionKey: [] }] : [],
        ...body,
        responses: {
          "500": problem("A fault of ours; the detail is in the logs of the invocation named"),
          "503": problem("The app's settings are not valid (named)"),
          ...errorsOf(f, method, f.route.includes("{"), body.requestBody !== undefined),
          // Last: a function's own answers (health's 503 is its own body, not a problem).
          ...Object.fromEntries(
            Object.entries(f.answers[method] ?? {}).map(([status, answer]) => [
              status,
              { description: answer.description, ...(answer.schema ? { content: { "application/json": { schema: { $ref: `#/components/schemas/${answer.schema}` } } } } : {}) },
            ]),
          ),
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: "defender-export management API", version: "1" },
    paths,
    components: {
      securitySchemes: { functionKey: { type: "apiKey", in: "header", name: "x-functions-key" } },
      schemas: {
        Configuration: jsonSchema(configurationSchema),
        PreviewRequest: jsonSchema(previewBodySchema),
        PassRecord: jsonSchema(passRecordSchema),
        ...Object.fromEntries(Object.entries(RESPONSE_SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema, "output")])),
      },
    },
  };
}

export function openApi(functions: () => readonly FunctionDefinition[]): HttpFunction {
  let document: Record<string, unknown> | undefined;
  return {
    kind: "http",
    name: "openapi",
    route: "openapi.json",
    methods: ["GET"],
    authLevel: "anonymous",
    answers: { GET: { 200: { description: "This document" } } },
    writes: () => false,
    handler: async () => json(200, (document ??= openApiDocument(functions()))),
  };
}
