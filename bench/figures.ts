import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the figure must reach, when the issue states a target. */
  target?: { op: ">=" | "<="; value: number };
}

const RESULTS = new URL("./results.json", import.meta.url);

/** Prints `BENCH <name> <value> <unit>` lines and merges the figures into bench/results.json. */
export function publish(figures: readonly Figure[]): void {
  for (const f of figures) {
    const verdict = f.target === undefined ? "" : `  (target ${f.target.op} ${f.target.value}: ${meets(f) ? "met" : "MISSED"})`;
    process.stdout.write(`BENCH ${f.name} ${round(f.value)} ${f.unit}${verdict}\n`);
  }
  let previous: { figures?: Record<string, unknown> } = {};
  try {
    previous = JSON.parse(readFileSync(RESULTS, "utf8")) as typeof previous;
  } catch {
    // first run
  }
  const merged = { ...(previous.figures ?? {}) };
  for (const f of figures) merged[f.name] = { value: round(f.value), unit: f.unit, ...(f.target ? { target: f.target, met: meets(f) } : {}) };
  const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
  writeFileSync(RESULTS, `${JSON.stringify({ ranAt: new Date().toISOString(), machine, figures: merged }, null, 2)}\n`);
}

export function meets(f: Figure): boolean {
  return f.target === undefined || (f.target.op === ">=" ? f.value >= f.target.value : f.value <= f.target.value);
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

/** The fewest Logs Ingestion requests that could carry these uploads' bytes: a megabyte per request, per stream. */
export function minimumIngestionRequests(requests: readonly { stream: string; inflatedBytes: number }[]): number {
  const perStream = new Map<string, number>();
  for (const r of requests) perStream.set(r.stream, (perStream.get(r.stream) ?? 0) + r.inflatedBytes);
  return [...perStream.values()].reduce((sum, bytes) => sum + Math.ceil(bytes / 1_048_576), 0);
}
