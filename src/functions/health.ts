import type { HttpFunction } from "./definitions.js";
import { json } from "./http.js";

/** For probes: anonymous, and it tells nothing but whether the app reaches its storage. */
export const health: HttpFunction = {
  kind: "http",
  name: "health",
  route: "health",
  methods: ["GET"],
  authLevel: "anonymous",
  writes: () => false,
  handler: async (_request, _context, service) => {
    const result = await service.health();
    return json(result.ok ? 200 : 503, { status: result.ok ? "healthy" : "unhealthy", checks: result.checks });
  },
};
