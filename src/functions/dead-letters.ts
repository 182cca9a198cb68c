import { badRequest } from "../hosting/problem.js";
import type { HttpFunction } from "./definitions.js";
import { json, nameParam } from "./http.js";

/** The configuration's dead letters: which destination, why, when, how many records. */
export const deadLetters: HttpFunction = {
  kind: "http",
  name: "deadLetters",
  route: "exports/{name}/dead-letters",
  methods: ["GET"],
  authLevel: "function",
  answers: { GET: { 200: { description: "The configuration's dead letters", schema: "DeadLetters" } } },
  query: [{ name: "limit", description: "Dead letters shown (1 to 1000; 100 by default)", schema: { type: "integer", minimum: 1, maximum: 1000 } }],
  writes: () => false,
  handler: async (request, _context, service) => {
    const given = request.query.get("limit");
    const limit = given === null ? 100 : Number(given);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest("invalid limit", [{ path: "limit", message: "expected a whole number from 1 to 1000" }]);
    return json(200, { value: await service.listDeadLetters(nameParam(request), limit) });
  },
};
