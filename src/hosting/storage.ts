import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import { QueueServiceClient } from "@azure/storage-queue";
import { BlobServiceClient } from "@azure/storage-blob";

/** The app's own storage account: state, pass records, dead letters, configurations and the pass queue. */
export interface StorageClients {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
  table(name: string): TableClient;
  /** Where it is, for logs: the account's endpoints, never a key. */
  description: string;
}

const PREFIX = "AzureWebJobsStorage__";

/**
 * DEFENDER_EXPORT_STORAGE, else AzureWebJobsStorage, as a connection string; else the identity-based
 * connection the Functions host uses when shared keys are off (`AzureWebJobsStorage__accountName`, or
 * `__blobServiceUri`, `__queueServiceUri` and `__tableServiceUri`); else Azurite's development storage.
 */
export function storageConnectionString(env: NodeJS.ProcessEnv): string | undefined {
  const given = env["DEFENDER_EXPORT_STORAGE"] || env["AzureWebJobsStorage"];
  if (given) return given;
  return identityEndpoints(env) === undefined ? "UseDevelopmentStorage=true" : undefined;
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

export function storageClients(env: NodeJS.ProcessEnv, credential: TokenCredential): StorageClients {
  const connectionString = storageConnectionString(env);
  if (connectionString !== undefined) {
    const blob = BlobServiceClient.fromConnectionString(connectionString);
    const queue = QueueServiceClient.fromConnectionString(connectionString);
    const insecure = blob.url.startsWith("http:");
    return {
      blob,
      queue,
      table: (name) => TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: insecure }),
      description: `storage account ${blob.accountName} (${new URL(blob.url).origin})`,
    };
  }
  const endpoints = identityEndpoints(env)!;
  const blob = new BlobServiceClient(endpoints.blob, credential);
  return {
    blob,
    queue: new QueueServiceClient(endpoints.queue, credential),
    table: (name) => new TableClient(endpoints.table, name, credential),
    description: `storage account at ${new URL(endpoints.blob).origin} (managed identity)`,
  };
}
