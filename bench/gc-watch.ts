// BENCH_GC=1: a benchmark child reports its garbage collections on stderr (how many and how long, by kind), so that
// the exporter's and the floors' can be compared. Off by default: the observer costs a little itself.
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "scavenge",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "mark-compact",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental marking",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks",
};

/** Starts watching when BENCH_GC is set; the function returned stops and reports under `label`. */
export function watchGc(label: string): () => void {
  if (!process.env["BENCH_GC"]) return () => undefined;
  const kinds = new Map<string, { count: number; ms: number }>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = KINDS[entry.detail?.kind ?? -1] ?? "other";
      const k = kinds.get(kind) ?? { count: 0, ms: 0 };
      k.count++;
      k.ms += entry.duration;
      kinds.set(kind, k);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    observer.disconnect();
    const parts = [...kinds].map(([kind, k]) => `${kind} ${k.count} × ${(k.ms / k.count).toFixed(2)} ms = ${(k.ms / 1000).toFixed(2)} s`);
    process.stderr.write(`GC ${label}: ${parts.join("; ")}\n`);
  };
}
