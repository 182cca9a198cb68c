import type { HttpFunction } from "./definitions.js";
import { json, nameParam } from "./http.js";

/** Sends the configuration's dead letters again; what fails again stays, with the new reason. */
export const deadLettersReplay: HttpFunction = {
  kind: "http",
  name: "deadLettersReplay",
  route: "exports/{name}/dead-letters/replay",
  methods: ["POST"],
  authLevel: "function",
  answers: { POST: { 200: { description: "What was sent again, and what failed again", schema: "ReplayReport" } } },
  writes: () => true,
  handler: async (request, context, service) => {
    const name = nameParam(request);
    const report = await service.replay(name);
    context.info(`dead letters of ${name} replayed: ${report.resent} records sent, ${report.failed} failed again`, { configuration: name });
    return json(200, report);
  },
};
