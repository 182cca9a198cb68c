import { DEFAULT_GROUP_PAGE, groupPageSchema, SUBSCRIPTION_STATUSES, type GroupPage } from "../hosting/group-status.js";
import { badRequest } from "../hosting/problem.js";
import type { HttpFunction } from "./definitions.js";
import type { HttpRequest } from "@azure/functions";
import { json, nameParam } from "./http.js";

/**
 * The last passes per source, the running snapshot, dead letters, poison messages, and whether data flows; for a
 * management group, its subscriptions worst first, a page at a time (`top`, `skip`, `subscriptionStatus`).
 */
export const exportStatus: HttpFunction = {
  kind: "http",
  name: "exportStatus",
  route: "exports/{name}/status",
  methods: ["GET"],
  authLevel: "function",
  answers: { GET: { 200: { description: "The passes, the destinations' health and whether data flows; a management group's subscriptions, worst first", schema: "Status" } } },
  query: [
    { name: "top", description: "A management group's subscriptions shown (1 to 1000; 100 by default)", schema: { type: "integer", minimum: 1, maximum: 1000 } },
    { name: "skip", description: "A management group's subscriptions skipped, worst first (0 by default)", schema: { type: "integer", minimum: 0 } },
    { name: "subscriptionStatus", description: "Only a management group's subscriptions in this state", schema: { type: "string", enum: [...SUBSCRIPTION_STATUSES] } },
  ],
  writes: () => false,
  handler: async (request, _context, service) => json(200, await service.status(nameParam(request), groupPage(request))),
};

function groupPage(request: HttpRequest): GroupPage {
  const number = (name: string, fallback: number) => {
    const given = request.query.get(name);
    return given === null || given === "" ? fallback : /^\d+$/.test(given) ? Number(given) : Number.NaN;
  };
  const status = request.query.get("subscriptionStatus");
  const parsed = groupPageSchema.safeParse({
    top: number("top", DEFAULT_GROUP_PAGE.top),
    skip: number("skip", DEFAULT_GROUP_PAGE.skip),
    ...(status === null || status === "" ? {} : { status }),
  });
  if (parsed.success) return parsed.data;
  const expected: Record<string, string> = {
    top: "expected a whole number from 1 to 1000",
    skip: "expected a whole number from 0",
    status: `expected one of ${SUBSCRIPTION_STATUSES.join(", ")}`,
  };
  throw badRequest(
    "invalid status query",
    parsed.error.issues.map((i) => {
      const field = String(i.path[0]);
      return { path: field === "status" ? "subscriptionStatus" : field, message: expected[field] ?? i.message };
    }),
  );
}
