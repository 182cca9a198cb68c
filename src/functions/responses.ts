import { SUBSCRIPTION_STATUSES } from "../hosting/group-status.js";
import { z } from "zod";
import { EVENT_SOURCES } from "../config/enums.js";
import { passRecordSchema } from "../engine/pass.js";

// What the management API answers, as schemas: OpenAPI publishes them (so that a generated client works) and the
// handler tests check every answer of the suite against them.

const problemItem = z.object({ path: z.string(), message: z.string() });

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(problemItem).optional(),
  warnings: z.array(problemItem).optional(),
});

/** A configuration as the API shows it: normalized, in the automations form's properties, never a secret. */
const publicConfiguration = z.looseObject({
  name: z.string().optional(),
  description: z.string().optional(),
  isEnabled: z.boolean(),
  scopes: z.array(z.looseObject({ scopePath: z.string(), description: z.string().optional() })),
  sources: z.array(z.looseObject({ eventSource: z.enum(EVENT_SOURCES), ruleSets: z.array(z.unknown()).nullable() })),
  actions: z.array(z.looseObject({ actionType: z.string() })),
  snapshotSchedule: z.string(),
  baselineSnapshot: z.boolean(),
});

const storedConfiguration = z.object({ name: z.string(), etag: z.string(), updatedAt: z.string(), configuration: publicConfiguration });

export const configurationResponseSchema = storedConfiguration.extend({ warnings: z.array(problemItem).optional() });

export const configurationListSchema = z.object({
  value: z.array(storedConfiguration),
  /** Stored configurations that no longer validate: they run no pass until corrected or deleted. */
  invalid: z.array(z.object({ name: z.string(), etag: z.string(), updatedAt: z.string().optional(), errors: z.array(problemItem) })),
});

export const runResponseSchema = z.object({ passes: z.array(passRecordSchema), failed: z.number().int() });

export const snapshotResponseSchema = z.object({
  queued: z.number().int(),
  passes: z.array(z.object({ scope: z.string(), eventSource: z.enum(EVENT_SOURCES) })),
  status: z.string(),
});

export const previewResponseSchema = z.object({
  records: z.array(
    z.object({
      eventSource: z.enum(EVENT_SOURCES),
      id: z.string(),
      /** Per action: the Log Analytics `table` and `row`, the Event Hubs `event` (and what was `cut`), a webhook's or blob's `body`, or why it is `skipped`. */
      destinations: z.array(z.looseObject({ action: z.string(), actionType: z.string() })),
    }),
  ),
  selected: z.number().int(),
  shown: z.number().int(),
  notices: z.array(z.string()),
});

const backoff = z.object({ lane: z.string(), failures: z.number().int(), since: z.string(), until: z.string(), reason: z.string() });

export const statusResponseSchema = z.looseObject({
  name: z.string(),
  enabled: z.boolean().nullable(),
  valid: z.boolean(),
  updatedAt: z.string().nullable(),
  errors: z.array(problemItem).optional(),
  flow: z.looseObject({
    status: z.enum(["flowing", "stalled", "failing", "waiting", "not yet run", "invalid"]),
    failing: z.array(z.string()),
    waiting: z.array(z.string()).optional(),
    expectedCadenceSeconds: z.number().optional(),
    lastPassAt: z.string().nullable().optional(),
    lastSuccessfulPassAt: z.string().nullable().optional(),
    lastDeliveryAt: z.string().nullable().optional(),
    secondsSinceLastSuccessfulPass: z.number().nullable().optional(),
    secondsSinceLastDelivery: z.number().nullable().optional(),
  }),
  actions: z.array(z.object({ actionKey: z.string(), actionType: z.string(), backedOff: z.array(backoff) })).optional(),
  deadLetters: z.object({ count: z.number().int(), byAction: z.record(z.string(), z.number().int()) }).optional(),
  poisonMessages: z.array(z.looseObject({ id: z.string() })).optional(),
  managementGroups: z
    .array(
      z.object({
        scope: z.string(),
        units: z.number().int(),
        summary: z.record(z.string(), z.number().int()),
        subscriptions: z.object({
          value: z.array(
            z.object({
              subscriptionId: z.string(),
              unit: z.string(),
              status: z.enum(SUBSCRIPTION_STATUSES),
              reasons: z.array(z.string()),
              lastSuccessfulPassAt: z.string().nullable(),
              secondsSinceLastSuccessfulPass: z.number().nullable(),
              recordsRead: z.record(z.string(), z.number().int()),
              departedAt: z.string().optional(),
              keptUntil: z.string().optional(),
            }),
          ),
          skip: z.number().int(),
          top: z.number().int(),
          matching: z.number().int(),
          nextSkip: z.number().int().nullable(),
        }),
      }),
    )
    .optional(),
  sources: z
    .array(
      z.looseObject({
        scope: z.string(),
        eventSource: z.enum(EVENT_SOURCES),
        snapshotAt: z.string().nullable(),
        running: z.looseObject({ id: z.string() }).nullable(),
        passes: z.array(passRecordSchema),
      }),
    )
    .optional(),
});

export const deadLettersResponseSchema = z.object({
  value: z.array(z.object({ name: z.string(), actionKey: z.string(), destination: z.string(), reason: z.string(), failedAt: z.string(), attempts: z.number().int(), records: z.number().int() })),
});

export const replayResponseSchema = z.object({ letters: z.number().int(), resent: z.number().int(), failed: z.number().int(), skipped: z.number().int() });

export const healthResponseSchema = z.object({ status: z.enum(["healthy", "degraded", "unhealthy"]), checks: z.record(z.string(), z.string()) });

/** The schemas by their name in the OpenAPI document's components. */
export const RESPONSE_SCHEMAS = {
  Problem: problemSchema,
  ConfigurationResponse: configurationResponseSchema,
  ConfigurationList: configurationListSchema,
  RunResponse: runResponseSchema,
  SnapshotResponse: snapshotResponseSchema,
  PreviewResponse: previewResponseSchema,
  Status: statusResponseSchema,
  DeadLetters: deadLettersResponseSchema,
  ReplayReport: replayResponseSchema,
  Health: healthResponseSchema,
} as const;

export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;
