import type { HttpMethod, HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import { redactSecretsInText } from "../config/secret.js";
import type { ExportService } from "../hosting/service.js";
import type { RegistrationSettings } from "../hosting/settings.js";
import { authorize, failure } from "./http.js";
import type { ResponseSchemaName } from "./responses.js";

/** One function of the app, whatever hosts it: the Functions host (index.ts) or the local host. */
export type FunctionDefinition = HttpFunction | TimerFunction | QueueFunction;

/** A successful answer, as OpenAPI describes it: what it means, and the schema of its body (none: no body). */
export interface Answer {
  description: string;
  schema?: ResponseSchemaName;
}

export interface HttpFunction {
  kind: "http";
  name: string;
  route: string;
  methods: HttpMethod[];
  authLevel: "anonymous" | "function";
  /** Per method, its successful answers by status (errors are problem bodies, described once). */
  answers: Partial<Record<HttpMethod, Record<number, Answer>>>;
  /** Its query parameters, for the OpenAPI document (each validated by the handler). */
  query?: { name: string; description: string; schema: Record<string, unknown> }[];
  /** Changes something: with platform authentication on, the caller needs the write role. */
  writes: (method: string) => boolean;
  handler(request: HttpRequest, context: InvocationContext, service: ExportService): Promise<HttpResponseInit>;
}

export interface TimerFunction {
  kind: "timer";
  name: string;
  schedule(settings: RegistrationSettings): string;
  handler(timer: Timer, context: InvocationContext, service: ExportService): Promise<void>;
}

export interface QueueFunction {
  kind: "queue";
  name: string;
  queueName(settings: RegistrationSettings): string;
  handler(message: unknown, context: InvocationContext, service: ExportService): Promise<void>;
}

/**
 * The one path every function goes through, in every host: the service is made (once) before the
 * handler runs, HTTP errors become problem responses, and nothing a handler throws leaks a secret.
 */
export function bindHttp(f: HttpFunction, service: () => Promise<ExportService>) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const s = await service();
      authorize(request, f.writes(request.method), s.settings.writeRole, s.settings.requireRole);
      return await f.handler(request, context, s);
    } catch (e) {
      return failure(e, context);
    }
  };
}

export function bindTimer(f: TimerFunction, service: () => Promise<ExportService>) {
  return bindBackground<Timer>(f.name, f.handler, service);
}

/** A queue handler that throws hands the message back: the host retries it and, after maxDequeueCount, keeps it as poison. */
export function bindQueue(f: QueueFunction, service: () => Promise<ExportService>) {
  return bindBackground<unknown>(f.name, f.handler, service);
}

function bindBackground<T>(name: string, handler: (input: T, context: InvocationContext, service: ExportService) => Promise<void>, service: () => Promise<ExportService>) {
  return async (input: T, context: InvocationContext): Promise<void> => {
    try {
      await handler(input, context, await service());
    } catch (e) {
      context.error(`${name} failed: ${redactSecretsInText(e instanceof Error ? e.message : String(e))}`);
      throw e;
    }
  };
}
