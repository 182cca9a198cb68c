import { toPublicConfiguration } from "../config/public.js";
import { badRequest, notFound } from "../hosting/problem.js";
import type { HttpFunction } from "./definitions.js";
import { header, json, nameParam, readJsonBody } from "./http.js";

/** GET, PUT (any configuration form; If-Match, If-None-Match: *) and DELETE one export configuration. */
export const exportItem: HttpFunction = {
  kind: "http",
  name: "export",
  route: "exports/{name}",
  methods: ["GET", "PUT", "DELETE"],
  authLevel: "function",
  answers: {
    GET: { 200: { description: "The configuration, normalized; its ETag in the header", schema: "ConfigurationResponse" } },
    PUT: { 200: { description: "Replaced", schema: "ConfigurationResponse" }, 201: { description: "Created", schema: "ConfigurationResponse" } },
    DELETE: { 204: { description: "Deleted, with its state and pass records" } },
  },
  writes: (method) => method !== "GET",
  handler: async (request, context, service) => {
    const name = nameParam(request);
    if (request.method === "GET") {
      const stored = await service.get(name);
      return json(200, { name, etag: stored.etag, updatedAt: stored.updatedAt, configuration: toPublicConfiguration(stored.configuration) }, { etag: stored.etag });
    }
    const ifMatch = header(request, "if-match");
    if (request.method === "DELETE") {
      const deleted = await service.delete(name, ifMatch);
      if (deleted) context.info(`export ${name} deleted`, { configuration: name });
      if (!deleted) throw notFound(`there is no export configuration named ${name}`);
      return { status: 204 };
    }
    const ifNoneMatch = header(request, "if-none-match");
    if (ifNoneMatch !== undefined && ifNoneMatch !== "*") throw badRequest("If-None-Match takes only *", [{ path: "If-None-Match", message: 'expected "*" (create only)' }]);
    if (ifMatch !== undefined && ifNoneMatch !== undefined) throw badRequest("If-Match and If-None-Match together", [{ path: "If-None-Match", message: "give one of If-Match and If-None-Match" }]);
    const body = await readJsonBody(request, service.settings.maxBodyBytes);
    const { stored, created, warnings } = await service.put(name, body, { ...(ifMatch !== undefined ? { ifMatch } : {}), ...(ifNoneMatch === "*" ? { create: true } : {}) });
    context.info(`export ${name} ${created ? "created" : "updated"}`, { configuration: name });
    return json(created ? 201 : 200, { name, etag: stored.etag, updatedAt: stored.updatedAt, configuration: toPublicConfiguration(stored.configuration), warnings }, { etag: stored.etag });
  },
};
