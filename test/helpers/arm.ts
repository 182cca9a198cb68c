import type { TokenCredential } from "@azure/core-auth";
import { ArmReader, type SourceRecord } from "../../src/sources/reader.js";
import { SyntheticDataset, type DatasetOptions } from "../../dev/fakes/arm/dataset.js";
import { startFakeArm, type FakeArmServer } from "../../dev/fakes/arm/server.js";

/** A credential that hands out a fixed token and remembers the scopes asked for. */
export function staticCredential(token = "test-token"): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: async (scope) => {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

// Small delays keep fault tests fast; Retry-After is still honoured as sent.
export const FAST_RETRIES = { maxRetries: 3, retryDelayInMs: 20, maxRetryDelayInMs: 100 };

export async function armFixture(options: DatasetOptions & { pageSize?: number } = {}) {
  const { pageSize, ...datasetOptions } = options;
  const dataset = new SyntheticDataset(datasetOptions);
  const fake: FakeArmServer = await startFakeArm({ dataset, ...(pageSize ? { pageSize } : {}) });
  const credential = staticCredential();
  const reader = (extra: { concurrency?: number; retryOptions?: typeof FAST_RETRIES } = {}) =>
    new ArmReader({ credential, endpoint: fake.url, tlsCa: fake.ca, retryOptions: extra.retryOptions ?? FAST_RETRIES, ...(extra.concurrency ? { concurrency: extra.concurrency } : {}) });
  return { dataset, fake, credential, reader, subscription: dataset.subscriptionPath };
}

export async function collect(iterable: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
