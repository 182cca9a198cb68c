import type { HttpFunction } from "./definitions.js";
import { json } from "./http.js";

export const exportsList: HttpFunction = {
  kind: "http",
  name: "exportsList",
  route: "exports",
  methods: ["GET"],
  authLevel: "function",
  writes: () => false,
  handler: async (_request, _context, service) => json(200, { value: await service.list() }),
};
