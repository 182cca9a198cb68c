import { metrics, type Counter, type Gauge, type Histogram } from "@opentelemetry/api";
import { logs, SeverityNumber } from "@opentelemetry/api-logs";
import { unitOf } from "../config/automation.js";
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

/** Records one pass's figures: per configuration and source, and per action for what destinations did; a unit pass's subscriptions. */
export function recordPassMetrics(record: PassRecord): void {
  if (record.skipped) return;
  recordUnitPass(record);
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

/**
 * A management group unit's pass, as log records (Application Insights `traces`, this message) that name its
 * subscriptions: the workbook tells each subscription's state from them. Per subscription as metric dimensions
 * they would outgrow the metrics' cardinality limit (2,000 series an instrument) at a few hundred subscriptions.
 */
export const UNIT_PASS_MESSAGE = "defender_export.unit_pass";
/** Subscriptions per log record: 150 ids and commas stay under Application Insights' 8,192 characters a dimension. */
const SUBSCRIPTIONS_PER_RECORD = 150;

export function recordUnitPass(record: PassRecord): void {
  const report = record.subscriptions;
  const unit = unitOf(record.scope);
  if (record.skipped || report === undefined || unit === undefined) return;
  const logger = logs.getLogger("defender-export");
  const outcome = record.error === undefined ? "succeeded" : record.retry !== undefined ? "waiting" : "failed";
  const members = Object.keys(report.read);
  const departed = Object.keys(report.departed);
  const chunks = Math.max(1, Math.ceil(members.length / SUBSCRIPTIONS_PER_RECORD), Math.ceil(departed.length / SUBSCRIPTIONS_PER_RECORD));
  for (let i = 0; i < chunks; i++) {
    const slice = (ids: string[]) => ids.slice(i * SUBSCRIPTIONS_PER_RECORD, (i + 1) * SUBSCRIPTIONS_PER_RECORD).join(",");
    logger.emit({
      body: UNIT_PASS_MESSAGE,
      severityNumber: record.error === undefined ? SeverityNumber.INFO : SeverityNumber.WARN,
      severityText: record.error === undefined ? "information" : "warning",
      attributes: {
        configuration: record.configuration,
        unit: `${unit.index + 1}-of-${unit.count}`,
        scope: record.scope,
        eventSource: record.eventSource,
        outcome,
        subscriptions: slice(members),
        departed: slice(departed),
        ...(record.error !== undefined ? { error: record.error.slice(0, 1000) } : {}),
      },
    });
  }
}

/** How many stored configurations no longer validate (each timer tick sets it). */
export function recordInvalidConfigurations(count: number): void {
  get().invalid.record(count);
}
