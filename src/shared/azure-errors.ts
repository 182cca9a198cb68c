/** The HTTP status of an Azure SDK error (a RestError, or a storage error carrying one); undefined for any other. */
export function statusOf(e: unknown): number | undefined {
  const status = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

export const isNotFound = (e: unknown): boolean => statusOf(e) === 404;
export const isConflict = (e: unknown): boolean => statusOf(e) === 409;
export const isPreconditionFailed = (e: unknown): boolean => statusOf(e) === 412;
