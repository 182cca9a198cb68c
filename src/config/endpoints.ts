/**
 * Where a destination may send: Azure's own service hosts, or a host the operator trusts. One rule for every
 * destination kind, applied to the host a client will dial, never to a string beside it.
 */
export interface AllowedDestinations {
  /** `host` or `host:port` entries, e.g. local fakes in tests (DEFENDER_EXPORT_TRUSTED_HOSTS). */
  trustedHosts: readonly string[];
  /** App settings a destination may name besides `DEFENDER_EXPORT_DEST_*` (DEFENDER_EXPORT_DESTINATION_SETTINGS). */
  destinationSettings?: readonly string[];
}

export type ServiceKind = "eventHubs" | "logsIngestion" | "logicApps" | "blob";

const SUFFIXES: Record<ServiceKind, readonly string[]> = {
  eventHubs: [".servicebus.windows.net", ".servicebus.usgovcloudapi.net", ".servicebus.chinacloudapi.cn"],
  logsIngestion: [".ingest.monitor.azure.com", ".ingest.monitor.azure.us", ".ingest.monitor.azure.cn"],
  logicApps: [".logic.azure.com", ".logic.azure.us", ".logic.azure.cn"],
  blob: [".blob.core.windows.net", ".blob.core.usgovcloudapi.net", ".blob.core.chinacloudapi.cn"],
};

/** What goes before the suffix: one namespace or account name, or (Logs Ingestion, Logic Apps) DNS labels. */
const SERVICE_NAME: Record<ServiceKind, RegExp> = {
  // Event Hubs namespaces: 6 to 50 letters, digits and hyphens, a letter first, a letter or digit last.
  eventHubs: /^[a-z][a-z0-9-]{4,48}[a-z0-9]$/,
  logsIngestion: /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  logicApps: /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  // Storage accounts: 3 to 24 lower-case letters and digits.
  blob: /^[a-z0-9]{3,24}$/,
};

export const SERVICE_HOST_EXAMPLE: Record<ServiceKind, string> = {
  eventHubs: "<namespace>.servicebus.windows.net",
  logsIngestion: "<endpoint>.<region>-1.ingest.monitor.azure.com",
  logicApps: "<region>.logic.azure.com",
  blob: "<account>.blob.core.windows.net",
};

/** A bare DNS name or an IPv4 address (the form trusted entries may name); IPv6 only in brackets. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/;
const PORT = /^(?:[1-9][0-9]{0,4})?$/;

/** Whether `host` (a bare name) with `port` ("" for the default) is a service host of `kind`, or trusted. */
export function hostAllowed(kind: ServiceKind, host: string, port: string, allowed: AllowedDestinations): boolean {
  const h = host.toLowerCase();
  if (!HOST.test(h) || !PORT.test(port)) return false;
  if (isTrustedHost(h, port, allowed)) return true;
  if (port !== "") return false; // a port only where the operator trusted it
  const suffix = SUFFIXES[kind].find((s) => h.endsWith(s));
  return suffix !== undefined && SERVICE_NAME[kind].test(h.slice(0, -suffix.length));
}

/** A host (and port) the operator listed in DEFENDER_EXPORT_TRUSTED_HOSTS: `host` for any port, `host:port` for one. */
export function isTrustedHost(host: string, port: string, allowed: AllowedDestinations): boolean {
  const h = host.toLowerCase();
  return allowed.trustedHosts.some((t) => {
    const entry = t.toLowerCase();
    return entry === h || (port !== "" && entry === `${h}:${port}`);
  });
}

/**
 * An https (or, for a trusted host, http) URL of a service: its host must be allowed, and it must carry no
 * credentials (userinfo). `path` and `query` say whether the URL may have them (a trigger URL has both).
 */
export function urlAllowed(
  kind: ServiceKind,
  text: string,
  allowed: AllowedDestinations,
  allow: { path?: boolean; query?: boolean; http?: boolean } = {},
): { ok: true; url: URL } | { ok: false; reason: string } {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined) return { ok: false, reason: "is not a URL" };
  const trusted = isTrustedHost(url.hostname, url.port, allowed);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && trusted && allow.http)) return { ok: false, reason: "must use https://" };
  if (url.username !== "" || url.password !== "") return { ok: false, reason: "must not carry a user name or password" };
  if (!allow.query && (url.search !== "" || url.hash !== "")) return { ok: false, reason: "must have no query (a signature or key is not stored here)" };
  if (!allow.path && url.pathname !== "/" && url.pathname !== "") return { ok: false, reason: "must be the service's endpoint, without a path" };
  if (!hostAllowed(kind, url.hostname, url.port, allowed))
    return { ok: false, reason: `has a host that is not ${SERVICE_HOST_EXAMPLE[kind]} (or a sovereign cloud's) nor in DEFENDER_EXPORT_TRUSTED_HOSTS` };
  return { ok: true, url };
}

// Event Hubs names: 1 to 256 letters, digits, periods, hyphens and underscores, a letter or digit first and last.
export const EVENT_HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
// A namespace as a resource id names it (same rule as the host's first label).
export const EVENT_HUB_NAMESPACE_NAME = /^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/;

/** The Event Hubs namespace a client is given: `host` or, for a trusted host, `host:port`. Nothing else. */
export function parseNamespace(text: string, allowed: AllowedDestinations): { ok: true; host: string; port: string } | { ok: false; reason: string } {
  const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(text.trim());
  if (m === null || !HOST.test(m[1]!.toLowerCase())) return { ok: false, reason: `is not a bare host name; expected ${SERVICE_HOST_EXAMPLE.eventHubs}` };
  const host = m[1]!.toLowerCase();
  const port = m[2] ?? "";
  if (!hostAllowed("eventHubs", host, port, allowed)) {
    return {
      ok: false,
      reason:
        port !== "" && !isTrustedHost(host, port, allowed)
          ? "names a port, which only a host in DEFENDER_EXPORT_TRUSTED_HOSTS may"
          : `is not an Event Hubs namespace host; expected ${SERVICE_HOST_EXAMPLE.eventHubs} (or a sovereign cloud's)`,
    };
  }
  return { ok: true, host, port };
}

/** The parts of an Event Hubs connection string that say where it goes; the key is never in a message. */
export interface EventHubConnection {
  host: string;
  port: string;
  entityPath?: string;
  keyName?: string;
  /** UseDevelopmentEmulator=true: plain AMQP, no TLS. Only for a trusted host. */
  emulator: boolean;
}

const CONNECTION_KEYS = ["Endpoint", "SharedAccessKeyName", "SharedAccessKey", "SharedAccessSignature", "EntityPath", "UseDevelopmentEmulator"];

/**
 * Parses an Event Hubs connection string as strictly as the SDK reads it loosely: every part `Key=value`, each
 * key once whatever its case and spelt as the SDK expects, an Endpoint that is exactly `sb://host[:port][/]`.
 * Then the same host rule as everywhere; UseDevelopmentEmulator (plain text) only for a trusted host.
 */
export function parseEventHubConnectionString(text: string, allowed: AllowedDestinations): { ok: true; connection: EventHubConnection } | { ok: false; message: string } {
  const parts = new Map<string, { key: string; value: string }>();
  let index = 0;
  for (const raw of text.trim().split(";")) {
    const piece = raw.trim();
    if (piece === "") continue;
    index++;
    const eq = piece.indexOf("=");
    if (eq <= 0) return { ok: false, message: `its part ${index} is not Key=value` };
    const key = piece.slice(0, eq).trim();
    const lower = key.toLowerCase();
    const known = CONNECTION_KEYS.find((k) => k.toLowerCase() === lower);
    // Parts are never quoted: a key pasted without its name would be the "key".
    if (known === undefined) return { ok: false, message: `its part ${index} is not one of ${CONNECTION_KEYS.join(", ")}` };
    if (known !== key) return { ok: false, message: `its part ${index} must be spelt ${known}` };
    if (parts.has(lower)) return { ok: false, message: `it has ${known} more than once` };
    parts.set(lower, { key, value: piece.slice(eq + 1).trim() });
  }
  const endpoint = parts.get("endpoint")?.value;
  if (endpoint === undefined) return { ok: false, message: `it has no Endpoint=sb://${SERVICE_HOST_EXAMPLE.eventHubs}/` };
  const m = /^sb:\/\/([^/:;]+)(?::(\d{1,5}))?\/?$/i.exec(endpoint);
  if (m === null) return { ok: false, message: `its Endpoint is not sb://<host>/; expected sb://${SERVICE_HOST_EXAMPLE.eventHubs}/` };
  const host = m[1]!.toLowerCase();
  const port = m[2] ?? "";
  if (!hostAllowed("eventHubs", host, port, allowed)) {
    return {
      ok: false,
      message: `its Endpoint host ${JSON.stringify(host)} is not an Event Hubs namespace (${SERVICE_HOST_EXAMPLE.eventHubs}) nor in DEFENDER_EXPORT_TRUSTED_HOSTS${port ? " with that port" : ""}`,
    };
  }
  const emulatorValue = parts.get("usedevelopmentemulator")?.value;
  const emulator = emulatorValue !== undefined && emulatorValue.toLowerCase() !== "false";
  if (emulator && !isTrustedHost(host, port, allowed)) return { ok: false, message: "it asks for UseDevelopmentEmulator (no TLS), which only a host in DEFENDER_EXPORT_TRUSTED_HOSTS may" };
  const hasKey = parts.has("sharedaccesskeyname") && parts.has("sharedaccesskey");
  if (!hasKey && !parts.has("sharedaccesssignature")) return { ok: false, message: "it has neither SharedAccessKeyName and SharedAccessKey nor SharedAccessSignature" };
  const entityPath = parts.get("entitypath")?.value;
  if (entityPath !== undefined && !EVENT_HUB_NAME.test(entityPath)) return { ok: false, message: "its EntityPath is not an Event Hubs name (letters, digits, '.', '-', '_')" };
  const keyName = parts.get("sharedaccesskeyname")?.value;
  return { ok: true, connection: { host, port, emulator, ...(entityPath ? { entityPath } : {}), ...(keyName ? { keyName } : {}) } };
}

const BLOB_CONNECTION_KEYS = ["DefaultEndpointsProtocol", "AccountName", "AccountKey", "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint", "EndpointSuffix", "SharedAccessSignature"];

/**
 * What is wrong with a Blob storage connection string, or undefined: each key once whatever its case, and only
 * the keys of an account's connection string. UseDevelopmentStorage and DevelopmentStorageProxyUri are refused:
 * the storage SDK sends every request through that proxy, whatever endpoint the client then shows.
 */
export function blobConnectionProblem(text: string): string | undefined {
  const seen = new Set<string>();
  for (const raw of text.trim().split(";")) {
    const piece = raw.trim();
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    if (eq <= 0) return "a part of it is not Key=value";
    const lower = piece.slice(0, eq).trim().toLowerCase();
    if (!BLOB_CONNECTION_KEYS.some((k) => k.toLowerCase() === lower)) return `it has a key that is not one of ${BLOB_CONNECTION_KEYS.join(", ")}`;
    if (seen.has(lower)) return "it names a key more than once";
    seen.add(lower);
  }
  return undefined;
}

/** App settings a destination may name: DEFENDER_EXPORT_DEST_*, or those the operator listed. */
export const DESTINATION_SETTING_PREFIX = "DEFENDER_EXPORT_DEST_";

export function settingAllowed(name: string, allowed: AllowedDestinations): boolean {
  return (name.startsWith(DESTINATION_SETTING_PREFIX) && name.length > DESTINATION_SETTING_PREFIX.length) || (allowed.destinationSettings ?? []).includes(name);
}

/** The SharedAccessKeyName of a connection string (ARM shows it as sasPolicyName); never the key. */
export function sharedAccessKeyName(text: string): string | undefined {
  for (const piece of text.split(";")) {
    const eq = piece.indexOf("=");
    if (eq > 0 && piece.slice(0, eq).trim() === "SharedAccessKeyName") return piece.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
