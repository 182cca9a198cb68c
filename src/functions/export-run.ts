import { summarize } from "../engine/summary.js";
import type { HttpFunction } from "./definitions.js";
import { json, nameParam } from "./http.js";

// Azure's front end drops an HTTP request after 230 s: passes stop before that, saving where they are.
const HTTP_PASS_SECONDS = 200;

/** A streaming pass of every source now, answered with the pass records when it is done. */
export const exportRun: HttpFunction = {
  kind: "http",
  name: "exportRun",
  route: "exports/{name}/run",
  methods: ["POST"],
  authLevel: "function",
  answers: { POST: { 200: { description: "The passes run, with their records", schema: "RunResponse" } } },
  writes: () => true,
  handler: async (request, context, service) => {
    const passes = await service.runNow(nameParam(request), {
      seconds: HTTP_PASS_SECONDS,
      onPass: (record) => context.info(summarize(record), { configuration: record.configuration, eventSource: record.eventSource, passId: record.id }),
    });
    return json(200, { passes, failed: passes.filter((p) => p.error !== undefined).length });
  },
};
