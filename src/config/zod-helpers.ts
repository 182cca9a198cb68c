import { z } from "zod";
import { matchEnum } from "./enums.js";
import { redactSecretsInText } from "./secret.js";

// What a misplaced secret looks like: a connection string's parts, a SAS or trigger signature, a key or token.
const SECRET_LIKE = /(?:SharedAccess(?:Key|Signature)|AccountKey|Password|Secret|Token|Bearer\s)\s*[=:]?|[?&](?:sig|code|se|sv|skoid|api-key|token)=|;\s*[A-Za-z]+\s*=|:\/\/[^/@\s]*:[^/@\s]*@/i;

/** A run of 32 or more base64 or hex characters mixing upper case, lower case and digits: a key pasted bare. */
function hasKeyLikeToken(value: string): boolean {
  for (const token of value.match(/[A-Za-z0-9+/_-]{32,}={0,2}/g) ?? []) {
    if (/[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9]/.test(token)) return true;
  }
  return false;
}

/**
 * Shows a user's value in a message: quoted, escaped and shortened; a value that looks like it holds a
 * secret (pasted in the wrong field) is never quoted, only said to be there.
 */
export function show(value: string): string {
  if (SECRET_LIKE.test(value) || hasKeyLikeToken(value)) return "(a value that looks like it holds a secret; not shown)";
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(shown);
}

/** An enum matched case-insensitively (as ARM does), normalized to its canonical spelling. */
export function caseInsensitiveEnum<T extends string>(values: readonly T[], what: string) {
  const expected = values.join(", ");
  return z.string({ error: `expected ${what}: one of ${expected}` }).transform((input, ctx): T => {
    const match = matchEnum(values, input);
    if (match === undefined) {
      ctx.issues.push({ code: "custom", message: `unknown ${what} ${show(input)}; expected one of ${expected}`, input });
      return z.NEVER;
    }
    return match;
  });
}

/** An object that names its unknown fields and the fields it expects. */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.map((k) => show(k)).join(", ");
        return `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys} in ${what}; expected ${known}`;
      }
      if (issue.code === "invalid_type") return `expected ${what} (an object), got ${describe(issue.input)}`;
      return undefined;
    },
  });
}

/**
 * Free text a user writes (a description, a rule's value) that holds a secret by the same patterns the logs are
 * scrubbed with: refused, since it would be stored and shown to everyone who can read the configuration.
 */
export const freeText = (what: string) =>
  z.string({ error: (i) => `expected ${what} (a string), got ${describe(i.input)}` }).refine((v) => redactSecretsInText(v) === v, {
    message: `${what} looks like it holds a secret (a key, a signature, a token), which would be stored and shown: remove it`,
  });

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value === undefined) return "nothing";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

export const nonEmptyString = (what: string) =>
  z.string({ error: (i) => `expected ${what} (a string), got ${describe(i.input)}` }).refine((s) => s.trim() !== "", {
    message: `${what} must not be empty`,
  });
