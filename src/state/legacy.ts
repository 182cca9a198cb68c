import { z } from "zod";
import { ExportEntries } from "../change/entries.js";
import { frontDecode } from "../change/ids.js";
import type { ExportState } from "./store.js";

// Versions 2 and 3 were one JSON document, ids whole (2) or front-coded in arrays (3); they are still read.
const legacyEnvelope = {
  updatedAt: z.string(),
  snapshotAt: z.string().optional(),
  hashes: z.array(z.number()),
  fingerprints: z.array(z.number().nullable()),
};
const legacySchema = z
  .discriminatedUnion("version", [
    z.object({ version: z.literal(3), ...legacyEnvelope, idShared: z.array(z.number().int().nonnegative()), idSuffixes: z.array(z.string()) }),
    z.object({ version: z.literal(2), ...legacyEnvelope, ids: z.array(z.string()) }),
  ])
  .refine(
    (s) => {
      const n = s.hashes.length;
      return s.fingerprints.length === n && (s.version === 2 ? s.ids.length === n : s.idShared.length === n && s.idSuffixes.length === n);
    },
    { message: "ids, hashes and fingerprints differ in length" },
  );

/** A version 2 or 3 state (its gunzipped text). Errors say what is wrong, after "the export state of <key>". */
export function readLegacyState(text: string): Omit<ExportState, "etag"> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("is not gzipped JSON");
  }
  const state = legacySchema.safeParse(parsed);
  if (!state.success) throw new Error(`is not valid: ${state.error.issues[0]?.message ?? "invalid"}`);
  const data = state.data;
  const ids = data.version === 2 ? data.ids : frontDecode({ shared: data.idShared, suffixes: data.idSuffixes });
  const fingerprints = data.fingerprints.map((f) => f ?? Number.NaN);
  return { entries: ExportEntries.fromIds(ids, data.hashes, fingerprints), updatedAt: data.updatedAt, ...(data.snapshotAt ? { snapshotAt: data.snapshotAt } : {}) };
}
