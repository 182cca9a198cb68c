import { redactSecretsInText } from "../config/secret.js";
import type { Problem } from "../config/model.js";

/**
 * An RFC 9457 problem the hosts answer with: the status, a title, what went wrong, and for bad input each
 * field's path and what was expected.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly Problem[] = [],
    readonly warnings: readonly Problem[] = [],
  ) {
    super(detail);
  }

  /** The answer's body; every text scrubbed of secret material once more, whatever put it there. */
  body(): Record<string, unknown> {
    const scrub = (problems: readonly Problem[]) => problems.map((p) => ({ path: redactSecretsInText(p.path), message: redactSecretsInText(p.message) }));
    return {
      type: "about:blank",
      title: this.title,
      status: this.status,
      detail: redactSecretsInText(this.detail),
      ...(this.errors.length > 0 ? { errors: scrub(this.errors) } : {}),
      ...(this.warnings.length > 0 ? { warnings: scrub(this.warnings) } : {}),
    };
  }
}

export const badRequest = (detail: string, errors: readonly Problem[] = [], warnings: readonly Problem[] = []) => new ProblemError(400, "Bad Request", detail, errors, warnings);
export const notFound = (detail: string) => new ProblemError(404, "Not Found", detail);
