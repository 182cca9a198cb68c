import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { redactSecretsInText } from "../config/secret.js";
import { badRequest, ProblemError } from "../hosting/problem.js";
import { parseJson } from "../shared/json.js";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { "content-type": "application/json; charset=utf-8", ...headers } };
}

export function problem(e: ProblemError): HttpResponseInit {
  return { status: e.status, jsonBody: e.body(), headers: { "content-type": "application/problem+json; charset=utf-8" } };
}

/** Anything that is not a ProblemError is a fault of ours: logged (redacted) and answered without detail. */
export function failure(e: unknown, context: InvocationContext): HttpResponseInit {
  if (e instanceof ProblemError) return problem(e);
  context.error(`request failed: ${redactSecretsInText(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
  return problem(new ProblemError(500, "Internal Server Error", `the request failed; see the logs of invocation ${context.invocationId}`));
}

/**
 * The request's JSON body, read up to `maxBytes`: a larger one is refused with 413 before it is read
 * whole, a malformed one with 400 and where it breaks (never quoting it: it may hold a secret).
 */
export async function readJsonBody(request: HttpRequest, maxBytes: number, required = true): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  let text = "";
  if (request.body !== null) {
    const reader = request.body.getReader();
    const decoder = new TextDecoder("utf-8", { fatal: false });
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
  }
  if (text.trim() === "") {
    if (required) throw badRequest("the request needs a JSON body", [{ path: "$", message: "expected a JSON body, got an empty one" }]);
    return undefined;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw badRequest("the body is not JSON", [{ path: "$", message: `line ${parsed.error.line}, column ${parsed.error.column}: ${parsed.error.reason}` }]);
  return parsed.value;
}

function tooLarge(maxBytes: number): ProblemError {
  return new ProblemError(413, "Content Too Large", `the body is over ${maxBytes} bytes (DEFENDER_EXPORT_MAX_BODY_BYTES)`);
}

/** The caller's app roles from App Service authentication's X-MS-CLIENT-PRINCIPAL, or undefined when it is not on. */
export function callerRoles(request: HttpRequest): string[] | undefined {
  const header = request.headers.get("x-ms-client-principal");
  if (header === null) return undefined;
  try {
    const principal = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as { claims?: { typ?: unknown; val?: unknown }[] };
    const roleTypes = new Set(["roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"]);
    return (principal.claims ?? []).filter((c) => typeof c.typ === "string" && roleTypes.has(c.typ) && typeof c.val === "string").map((c) => c.val as string);
  } catch {
    return [];
  }
}

/**
 * A change needs the write role from App Service authentication. With `required` (DEFENDER_EXPORT_REQUIRE_ROLE,
 * set by the deployment that turns authentication on), a write without a principal is refused too; without
 * it, a write without a principal has only the function key as its guard, which the README says.
 */
export function authorize(request: HttpRequest, write: boolean, writeRole: string, required = false): void {
  if (!write) return;
  const roles = callerRoles(request);
  if (roles === undefined) {
    if (required) throw new ProblemError(401, "Unauthorized", `changing exports needs a signed-in caller with the app role ${writeRole} (App Service authentication)`);
    return;
  }
  if (!roles.includes(writeRole)) throw new ProblemError(403, "Forbidden", `changing exports needs the app role ${writeRole}`);
}

/** The route's configuration name (the Functions host has decoded it). */
export function nameParam(request: HttpRequest): string {
  return request.params["name"] ?? "";
}

/** An ETag header value: as given, quotes and weak prefix included (Table storage ETags are weak). */
export function header(request: HttpRequest, name: string): string | undefined {
  const v = request.headers.get(name);
  return v === null || v.trim() === "" ? undefined : v.trim();
}
