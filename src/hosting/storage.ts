import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import { QueueServiceClient } from "@azure/storage-queue";
import { BlobServiceClient } from "@azure/storage-blob";
import { redactSecretsInText } from "../config/secret.js";
import type { StorageSetting } from "./settings.js";

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
export function storageClients(storage: StorageSetting, credential: TokenCredential): StorageClients {
  const { setting } = storage;
  if ("connectionString" in storage) {
    const value = storage.connectionString;
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
      table: (name) =>
        made(setting, "Table", () =>
          TableClient.fromConnectionString(value, name, { allowInsecureConnection: /TableEndpoint=http:|UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;/i.test(value) }),
        ),
      setting,
      get description() {
        const url = blobClient().url;
        return `storage account ${blobClient().accountName} (${new URL(url).origin})`;
      },
    };
  }
  const endpoints = storage.endpoints;
  const blob = new BlobServiceClient(endpoints.blob, credential);
  return {
    blob,
    queue: new QueueServiceClient(endpoints.queue, credential),
    table: (name) => new TableClient(endpoints.table, name, credential),
    description: `storage account at ${new URL(endpoints.blob).origin} (managed identity)`,
    setting,
  };
}
