import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import { QueueServiceClient } from "@azure/storage-queue";
import { BlobServiceClient } from "@azure/storage-blob";
import { redactSecretsInText } from "../config/index.js";

/** The app's own storage account: state, pass records, dead letters, configurations and the pass queue. */
export interface StorageClients {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
  table(name: string): TableClient;
  /** Where it is, for logs: the account's endpoints, never a key. */
  description: string;
  /** The app setting it comes from, for messages. */
  setting: string;
}

const PREFIX = "AzureWebJobsStorage__";

/** The connection string and the setting it came from; undefined for the identity-based connection. */
function connectionSetting(env: NodeJS.ProcessEnv): { setting: string; value: string } | undefined {
  if (env["DEFENDER_EXPORT_STORAGE"]) return { setting: "DEFENDER_EXPORT_STORAGE", value: env["DEFENDER_EXPORT_STORAGE"] };
  if (env["AzureWebJobsStorage"]) return { setting: "AzureWebJobsStorage", value: env["AzureWebJobsStorage"] };
  return identityEndpoints(env) === undefined ? { setting: "AzureWebJobsStorage (unset: Azurite's development storage)", value: "UseDevelopmentStorage=true" } : undefined;
}

function identitySetting(env: NodeJS.ProcessEnv): string {
  return env[`${PREFIX}accountName`] ? `${PREFIX}accountName` : `${PREFIX}blobServiceUri`;
}

/**
 * DEFENDER_EXPORT_STORAGE, else AzureWebJobsStorage, as a connection string; else the identity-based
 * connection the Functions host uses when shared keys are off (`AzureWebJobsStorage__accountName`, or
 * `__blobServiceUri`, `__queueServiceUri` and `__tableServiceUri`); else Azurite's development storage.
 */
export function storageConnectionString(env: NodeJS.ProcessEnv): string | undefined {
  return connectionSetting(env)?.value;
}

function identityEndpoints(env: NodeJS.ProcessEnv): { blob: string; queue: string; table: string } | undefined {
  const account = env[`${PREFIX}accountName`];
  const blob = env[`${PREFIX}blobServiceUri`] ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  const queue = env[`${PREFIX}queueServiceUri`] ?? (account ? `https://${account}.queue.core.windows.net` : undefined);
  const table = env[`${PREFIX}tableServiceUri`] ?? (account ? `https://${account}.table.core.windows.net` : undefined);
  if (blob === undefined && queue === undefined && table === undefined) return undefined;
  if (blob === undefined || queue === undefined || table === undefined) {
    throw new Error(`${PREFIX}blobServiceUri, ${PREFIX}queueServiceUri and ${PREFIX}tableServiceUri: expected all three (or ${PREFIX}accountName)`);
  }
  return { blob, queue, table };
}

/** Makes a client, or says which setting it came from and what is wrong with it (never its value). */
function made<T>(setting: string, service: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    // No cause: the SDK's own error may quote the connection string, and a cause is printed with the error.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`${setting}: the ${service} service cannot be reached from it: ${redactSecretsInText((e as Error).message.split("\n")[0] ?? "")}`);
  }
}

/** The error again, naming the storage setting, when it came from a request to the account. */
export function namingStorage(e: unknown, storage: StorageClients): unknown {
  const url = (e as { request?: { url?: unknown } } | undefined)?.request?.url;
  if (typeof url !== "string" || !(e instanceof Error)) return e;
  // Blob only: the one service every command uses, and a blob-only connection string has no other.
  if (new URL(url).host !== new URL(storage.blob.url).host) return e;
  return new Error(`${storage.setting}: the storage account cannot be used: ${redactSecretsInText(e.message.split("\n")[0] ?? "")}`);
}

/**
 * The clients, each made when first used: a command that needs only Blob storage (export, replay) works
 * with a connection string that has only a BlobEndpoint.
 */
export function storageClients(env: NodeJS.ProcessEnv, credential: TokenCredential): StorageClients {
  const connection = connectionSetting(env);
  if (connection !== undefined) {
    const { setting, value } = connection;
    let blob: BlobServiceClient | undefined;
    let queue: QueueServiceClient | undefined;
    const blobClient = () => (blob ??= made(setting, "Blob", () => BlobServiceClient.fromConnectionString(value)));
    return {
      get blob() {
        return blobClient();
      },
      get queue() {
        return (queue ??= made(setting, "Queue", () => QueueServiceClient.fromConnectionString(value)));
      },
      table: (name) => made(setting, "Table", () => TableClient.fromConnectionString(value, name, { allowInsecureConnection: /TableEndpoint=http:|UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;/i.test(value) })),
      setting,
      get description() {
        const url = blobClient().url;
        return `storage account ${blobClient().accountName} (${new URL(url).origin})`;
      },
    };
  }
  const endpoints = identityEndpoints(env)!;
  const blob = new BlobServiceClient(endpoints.blob, credential);
  return {
    blob,
    queue: new QueueServiceClient(endpoints.queue, credential),
    table: (name) => new TableClient(endpoints.table, name, credential),
    description: `storage account at ${new URL(endpoints.blob).origin} (managed identity)`,
    setting: identitySetting(env),
  };
}
