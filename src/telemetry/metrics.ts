import { metrics, type Counter, type Gauge, type Histogram } from "@opentelemetry/api";
import type { PassRecord } from "../engine/pass.js";

/** The metric names the workbook (infra/) reads: change them together. */
export const METRIC_NAMES = {
  recordsRead: "defender_export.records.read",
  recordsExported: "defender_export.records.exported",
  recordsFilteredOut: "defender_export.records.filtered_out",
  recordsCut: "defender_export.records.cut",
  recordsDeadLettered: "defender_export.records.dead_lettered",
  passDuration: "defender_export.pass.duration",
  passFailures: "defender_export.pass.failures",
  exportLag: "defender_export.export.lag",
  actionBackoffs: "defender_export.action.backoffs",
  invalidConfigurations: "defender_export.configurations.invalid",
} as const;

interface Instruments {
  read: Counter;
  exported: Counter;
  filteredOut: Counter;
  cut: Counter;
  deadLettered: Counter;
  duration: Histogram;
  failures: Counter;
  lag: Histogram;
  backoffs: Counter;
  invalid: Gauge;
}

let instruments: Instruments | undefined;

function get(): Instruments {
  // Created on first use, from whichever MeterProvider is registered by then (Azure Monitor, or a test's).
  if (instruments === undefined) {
    const meter = metrics.getMeter("defender-export");
    instruments = {
      read: meter.createCounter(METRIC_NAMES.recordsRead, { description: "Records read from the Microsoft.Security API" }),
      exported: meter.createCounter(METRIC_NAMES.recordsExported, { description: "Records a destination acknowledged" }),
      filteredOut: meter.createCounter(METRIC_NAMES.recordsFilteredOut, { description: "Records the export rules did not select" }),
      cut: meter.createCounter(METRIC_NAMES.recordsCut, { description: "Records cut to fit a destination's size limit" }),
      deadLettered: meter.createCounter(METRIC_NAMES.recordsDeadLettered, { description: "Records a destination could not take, kept in the dead-letter store" }),
      duration: meter.createHistogram(METRIC_NAMES.passDuration, { description: "Pass duration", unit: "s" }),
      failures: meter.createCounter(METRIC_NAMES.passFailures, { description: "Passes that ended with an error" }),
      lag: meter.createHistogram(METRIC_NAMES.exportLag, {
        description:
          "Seconds from when each exported change could first be read (its own change time where the record gives one, never before the last complete pass of its source began to read; else from then) to the destinations' acknowledgement of it (streaming passes; each pass's largest)",
        unit: "s",
      }),
      backoffs: meter.createCounter(METRIC_NAMES.actionBackoffs, {
        description: "Passes in which an action was backed off after a delivery failed every attempt (its items were dead-lettered untried)",
      }),
      invalid: meter.createGauge(METRIC_NAMES.invalidConfigurations, { description: "Stored configurations that no longer validate, as the last timer found them (they run no pass)" }),
    };
  }
  return instruments;
}

/** Tests: instruments are made again from the MeterProvider registered now. */
export function resetInstruments(): void {
  instruments = undefined;
}

/** Records one pass's figures: per configuration and source, and per action for what destinations did. */
export function recordPassMetrics(record: PassRecord): void {
  if (record.skipped) return;
  const i = get();
  const base = { configuration: record.configuration, eventSource: record.eventSource, mode: record.mode };
  i.read.add(record.read, base);
  i.filteredOut.add(Math.max(0, record.read - record.matched), base);
  i.duration.record(record.durationMs / 1000, base);
  if (record.error) i.failures.add(1, base);
  if (record.lag !== undefined) i.lag.record(record.lag.maxSeconds, base);
  for (const [action, a] of Object.entries(record.actions)) {
    const dims = { ...base, action };
    i.exported.add(a.sent, dims);
    i.cut.add(a.cut, dims);
    i.deadLettered.add(a.deadLettered, dims);
    if (a.backedOffUntil !== undefined) i.backoffs.add(1, dims);
  }
}

/** How many stored configurations no longer validate (each timer tick sets it). */
export function recordInvalidConfigurations(count: number): void {
  get().invalid.record(count);
}
