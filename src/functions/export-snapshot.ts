import type { HttpFunction } from "./definitions.js";
import { json, nameParam } from "./http.js";

/** A snapshot of every source, queued now; its progress shows in status. */
export const exportSnapshot: HttpFunction = {
  kind: "http",
  name: "exportSnapshot",
  route: "exports/{name}/snapshot",
  methods: ["POST"],
  authLevel: "function",
  answers: { POST: { 202: { description: "Queued: one pass per scope and source", schema: "SnapshotResponse" } } },
  writes: () => true,
  handler: async (request, context, service) => {
    const name = nameParam(request);
    const { queued } = await service.requestSnapshot(name);
    context.info(`snapshot of ${name} queued: ${queued.length} passes`, { configuration: name });
    return json(
      202,
      { queued: queued.length, passes: queued.map((m) => ({ scope: m.scope, eventSource: m.eventSource })), status: `/api/exports/${encodeURIComponent(name)}/status` },
      { location: `/api/exports/${encodeURIComponent(name)}/status` },
    );
  },
};
