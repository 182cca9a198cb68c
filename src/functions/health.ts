import type { HttpFunction } from "./definitions.js";
import { json } from "./http.js";

/** For probes: anonymous, so it says only which check fails; the detail goes to the logs. */
export const health: HttpFunction = {
  kind: "http",
  name: "health",
  route: "health",
  methods: ["GET"],
  authLevel: "anonymous",
  answers: {
    GET: {
      200: { description: "Healthy, or degraded (a stored configuration no longer validates)", schema: "Health" },
      503: { description: "Unhealthy: a check fails (named, not why)", schema: "Health" },
    },
  },
  writes: () => false,
  handler: async (_request, context, service) => {
    const result = await service.health();
    const checks: Record<string, string> = {};
    for (const [name, outcome] of Object.entries(result.checks)) {
      checks[name] = outcome === "ok" ? "ok" : "failing";
      if (outcome !== "ok") context.warn(`health check ${name}: ${outcome}`);
    }
    // Degraded (a configuration runs no pass) is not down: 200, so that probes do not recycle a working app.
    return json(result.ok ? 200 : 503, { status: !result.ok ? "unhealthy" : result.degraded ? "degraded" : "healthy", checks });
  },
};
