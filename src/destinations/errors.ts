import { redactSecretsInText } from "../config/secret.js";

/**
 * One line saying why a send failed, secret-free: status, code and message, and for an AggregateError (what
 * the Event Hubs SDK throws when it cannot connect) the errors inside it, whose message the outer one lacks.
 */
export function describeError(e: unknown): string {
  if (e === undefined || e === null) return "unknown error";
  const err = e as { statusCode?: number; code?: string; name?: string; message?: string; errors?: unknown };
  if (Array.isArray(err.errors) && err.errors.length > 0) {
    const inner = [...new Set(err.errors.map((x) => describeError(x)))];
    const head = (err.message ?? "").split("\n")[0]!.trim();
    return redactSecretsInText(`${head ? `${head}: ` : ""}${inner.slice(0, 3).join("; ")}${inner.length > 3 ? `; and ${inner.length - 3} more` : ""}`);
  }
  const status = err.statusCode === undefined ? "" : `HTTP ${err.statusCode} `;
  const code = err.code ?? (err.name && err.name !== "Error" ? err.name : "");
  const message = (err.message || String(e)).split("\n")[0]!.slice(0, 300);
  const text = `${status}${code ? `${code}: ` : ""}${message}`.trim();
  return redactSecretsInText(text === "" || text === "Error" ? "unknown error" : text);
}
