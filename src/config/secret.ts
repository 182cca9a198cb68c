import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A write-only value: it can be read on purpose with `reveal()`, but serializing,
 * printing or logging it never shows the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  /** JSON.stringify drops the key altogether, as ARM omits write-only fields in responses. */
  toJSON(): undefined {
    return undefined;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

// Secret material in connection strings, SAS URLs and headers.
const SECRET_PATTERNS: readonly RegExp[] = [
  /(SharedAccessKey\s*=\s*)[^;"'\s]+/gi,
  /(SharedAccessSignature\s*=\s*)[^;"'\s]+/gi,
  /(AccountKey\s*=\s*)[^;"'\s]+/gi,
  /([?&]sig=)[^&"'\s]+/gi,
  /([?&]code=)[^&"'\s]+/gi,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/g,
  // A password in a URL's userinfo.
  /(:\/\/[^/@\s:]*:)[^/@\s]+(?=@)/g,
  /("?(?:access_token|client_secret)"?\s*[:=]\s*"?)[^"&\s,}]+/gi,
];

/** Scrubs secret material from free text (error messages, log lines) before it leaves the process. */
export function redactSecretsInText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, `$1${REDACTED}`);
  return out;
}
