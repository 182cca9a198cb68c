import type { HttpFunction } from "./definitions.js";
import { json } from "./http.js";

export const exportsList: HttpFunction = {
  kind: "http",
  name: "exportsList",
  route: "exports",
  methods: ["GET"],
  authLevel: "function",
  answers: { GET: { 200: { description: "Every configuration; those that no longer validate apart", schema: "ConfigurationList" } } },
  writes: () => false,
  handler: async (_request, context, service) => {
    const listed = await service.list();
    for (const bad of listed.invalid) context.warn(`stored configuration ${bad.name} no longer validates: ${bad.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    return json(200, listed);
  },
};
