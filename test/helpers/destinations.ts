import { BlobServiceClient } from "@azure/storage-blob";
import { BlobDeadLetterStore, type DeadLetter } from "../../src/destinations/dead-letter.js";
import { TABLES } from "../../src/datatypes/registry.js";
import { defaultStreamName } from "../../src/records/columns.js";
import type { Azurite } from "../../dev/fakes/azurite.js";

export const RULE_ID = "dcr-00112233445566778899aabbccddeeff";
export const FAST = { attempts: 3, delayMs: 10 };
// A dropped connection is noticed when the operation times out (60 s by default): 5 s here.
export const SDK_FAST = { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50, timeoutInMs: 5000 };

/** The streams a data collection rule made from our table definitions declares. */
export function declaredStreams(): Record<string, string[]> {
  return Object.fromEntries(TABLES.map((t) => [defaultStreamName(t.table), t.columns.map((c) => c.name)]));
}

export function storage(azurite: Azurite, prefix: string) {
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const deadLetterContainer = service.getContainerClient(`${prefix}-dead-letters`);
  return { service, deadLetters: new BlobDeadLetterStore(deadLetterContainer), deadLetterContainer, overflow: service.getContainerClient(`${prefix}-overflow`) };
}

/** How many letters the store holds, of every configuration. */
export async function letterCount(store: BlobDeadLetterStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list()) n++;
  return n;
}

export async function lettersOf(store: BlobDeadLetterStore): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for await (const { letter } of store.list()) out.push(letter);
  return out;
}
