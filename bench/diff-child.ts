// Diffs 1,000,000 records against the fingerprints of a previous pass, as a pass does; prints time and peak memory.
import { ChangeDetector } from "../src/change/detector.js";
import { CHANGE_RULES } from "../src/change/fingerprints.js";
import { ExportEntries } from "../src/change/entries.js";
import { idHash } from "../src/change/ids.js";

const count = Number(process.argv[2] ?? "1000000");
const record = (i: number, code: string) => ({
  id: `/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourcegroups/rg${i % 50}/providers/microsoft.compute/virtualmachines/vm${i}/providers/microsoft.security/assessments/${(i % 200).toString(16).padStart(8, "0")}-1111-2222-3333-444455556666/subassessments/${i.toString(16).padStart(32, "0")}`,
  properties: { status: { code } },
});
// The previous pass's fingerprints and ids, as the state holds them.
const hashes = new Float64Array(count);
const fingerprints = new Float64Array(count);
for (let i = 0; i < count; i++) {
  const r = record(i, "Unhealthy");
  hashes[i] = idHash(r.id);
  fingerprints[i] = CHANGE_RULES.subAssessment.fingerprint(r);
}
// The stored ids, read (as a stored state's are) only when a removal needs them.
const stored = {
  count,
  walk: async function* () {
    for (let i = 0; i < count; i++) yield record(i, "").id;
  },
};
const before = process.cpuUsage();
const start = performance.now();
const detector = new ChangeDetector("subAssessment", ExportEntries.stored(hashes, fingerprints, stored));
let changed = 0;
// 1% changed, 1% new, 1% gone.
for (let i = Math.floor(count / 100); i < count + Math.floor(count / 100); i++) {
  const r = record(i, i % 100 === 7 ? "Healthy" : "Unhealthy");
  if (detector.observe(idHash(r.id), r.id, r, true, false) !== "unchanged") changed++;
}
const removed = (await detector.removals()).length;
const cpu = process.cpuUsage(before);
process.stdout.write(
  `${JSON.stringify({ count, changed, removed, seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
);
