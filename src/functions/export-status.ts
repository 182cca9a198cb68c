import type { HttpFunction } from "./definitions.js";
import { json, nameParam } from "./http.js";

/** The last passes per source, the running snapshot, dead letters, poison messages, and whether data flows. */
export const exportStatus: HttpFunction = {
  kind: "http",
  name: "exportStatus",
  route: "exports/{name}/status",
  methods: ["GET"],
  authLevel: "function",
  answers: { GET: { 200: { description: "The passes, the destinations' health and whether data flows", schema: "Status" } } },
  writes: () => false,
  handler: async (request, _context, service) => json(200, await service.status(nameParam(request))),
};
