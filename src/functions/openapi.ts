import { z } from "zod";
import { actionSchemasByType } from "../config/actions.js";
import { scopeSchema, sourceSchema } from "../config/automation.js";
import { passRecordSchema } from "../engine/pass.js";
import type { FunctionDefinition, HttpFunction } from "./definitions.js";
import { previewBodySchema } from "./export-preview.js";
import { json } from "./http.js";

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" });

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
});

const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  warnings: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const BODIES: Record<string, string> = { export: "Configuration", exportPreview: "PreviewRequest" };

/** OpenAPI 3.1 for the HTTP functions, made from their definitions and the zod schemas that validate them. */
export function openApiDocument(functions: readonly FunctionDefinition[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const f of functions.filter((d): d is HttpFunction => d.kind === "http")) {
    const path = `/api/${f.route}`;
    const parameters = [...f.route.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$" } }));
    for (const method of f.methods) {
      const body = (method === "PUT" || method === "POST") && BODIES[f.name] ? { requestBody: { required: f.name === "export", content: { "application/json": { schema: { $ref: `#/components/schemas/${BODIES[f.name]}` } } } } } : {};
      (paths[path] ??= {})[method.toLowerCase()] = {
        operationId: `${f.name}${f.methods.length > 1 ? method[0]! + method.slice(1).toLowerCase() : ""}`,
        parameters,
        security: f.authLevel === "function" ? [{ functionKey: [] }] : [],
        ...body,
        responses: {
          "200": { description: "OK" },
          "400": { description: "Bad input, each problem with its path", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } },
          ...(f.authLevel === "function" ? { "401": { description: "No or wrong function key" }, "403": { description: "The caller lacks the write role" } } : {}),
          "404": { description: "No such configuration" },
          ...(body.requestBody ? { "413": { description: "Body over DEFENDER_EXPORT_MAX_BODY_BYTES" } } : {}),
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
      schemas: { Configuration: jsonSchema(configurationSchema), PreviewRequest: jsonSchema(previewBodySchema), PassRecord: jsonSchema(passRecordSchema), Problem: jsonSchema(problemSchema) },
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
    writes: () => false,
    handler: async () => json(200, (document ??= openApiDocument(functions()))),
  };
}
