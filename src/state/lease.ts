import { isConflict, isPreconditionFailed } from "../shared/azure-errors.js";
import type { BlobLeaseClient, BlockBlobClient } from "@azure/storage-blob";

/** A runner's hold on a pass key: one runner at a time. */
export interface Lease {
  /** Throws when the hold was lost: another runner may have the pass key by now. */
  check(): void;
  release(): Promise<void>;
}

/**
 * A lease on a pass key's lock blob (made empty if missing). Undefined when another runner holds it.
 * The lease is renewed while the pass runs and expires by itself if its holder dies.
 */
export async function acquireBlobLease(lock: BlockBlobClient, seconds: number): Promise<Lease | undefined> {
  try {
    await lock.upload("", 0, { conditions: { ifNoneMatch: "*" } });
  } catch (e) {
    if (!isConflict(e) && !isPreconditionFailed(e)) throw e;
  }
  const client = lock.getBlobLeaseClient();
  try {
    await client.acquireLease(seconds);
  } catch (e) {
    if (isConflict(e)) return undefined;
    throw e;
  }
  return new BlobLease(client, seconds);
}

class BlobLease implements Lease {
  readonly #client: BlobLeaseClient;
  readonly #timer: NodeJS.Timeout;
  #lost: Error | undefined;

  constructor(client: BlobLeaseClient, seconds: number) {
    this.#client = client;
    this.#timer = setInterval(
      () => {
        this.#client.renewLease().catch((e: Error) => {
          this.#lost = e;
        });
      },
      (seconds * 1000) / 3,
    );
    this.#timer.unref();
  }

  check(): void {
    if (this.#lost) throw new Error(`the pass lost its lease: ${this.#lost.message}`);
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client.releaseLease().catch(() => undefined);
  }
}
