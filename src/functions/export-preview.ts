import { z } from "zod";
import { joinPath } from "../config/parse.js";
import { badRequest } from "../hosting/problem.js";
import type { HttpFunction } from "./definitions.js";
import { json, nameParam, readJsonBody } from "./http.js";
import { isObject } from "../shared/object.js";

export const previewBodySchema = z.strictObject({
  /** Records as the Microsoft.Security API returns them; without them, the configuration's scopes are read live. */
  records: z.array(z.unknown()).max(10_000).optional(),
  /** At most this many records shown (and, live, read per source). */
  limit: z.number().int().min(1).max(1000).optional(),
  /** The hub's maximum message size, as it advertises it: 262144 on Basic; a Standard hub's 1048576 by default. */
  eventHubMaxMessageBytes: z.number().int().min(4096).max(104_857_600).optional(),
});

/** A dry run: what would be exported, mapped per destination; nothing is sent, no state moves. */
export const exportPreview: HttpFunction = {
  kind: "http",
  name: "exportPreview",
  route: "exports/{name}/preview",
  methods: ["POST"],
  authLevel: "function",
  answers: { POST: { 200: { description: "What would be exported, per destination; nothing is sent", schema: "PreviewResponse" } } },
  writes: () => false,
  handler: async (request, _context, service) => {
    const raw = await readJsonBody(request, service.settings.maxBodyBytes, false);
    // A bare array or an ARM list body stands for { records }.
    const body = Array.isArray(raw) ? { records: raw } : isListBody(raw) ? { records: raw.value } : (raw ?? {});
    const parsed = previewBodySchema.safeParse(body);
    if (!parsed.success)
      throw badRequest(
        "the preview request is not valid",
        parsed.error.issues.map((i) => ({ path: joinPath("$", i.path), message: i.message })),
      );
    const { records, limit, eventHubMaxMessageBytes } = parsed.data;
    return json(
      200,
      await service.preview(nameParam(request), { ...(records ? { records } : {}), limit: limit ?? 100, ...(eventHubMaxMessageBytes !== undefined ? { eventHubMaxMessageBytes } : {}) }),
    );
  },
};

function isListBody(v: unknown): v is { value: unknown[] } {
  return isObject(v) && Array.isArray(v["value"]) && Object.keys(v).every((k) => k === "value" || k === "nextLink");
}
