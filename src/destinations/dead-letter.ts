import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import type { DeliveryItem } from "./types.js";

/** A batch that could not be delivered: where it was going, why, and the payloads exactly as they were. */
export interface DeadLetter {
  version: 1;
  actionKey: string;
  destination: string;
  reason: string;
  failedAt: string;
  attempts: number;
  items: DeliveryItem[];
}

const deadLetterSchema = z.object({
  version: z.literal(1),
  actionKey: z.string().min(1),
  destination: z.string(),
  reason: z.string(),
  failedAt: z.string(),
  attempts: z.number().int().nonnegative(),
  items: z.array(
    z.object({
      id: z.string(),
      route: z.string(),
      partitionKey: z.string().optional(),
      payload: z.record(z.string(), z.unknown()),
      bytes: z.number().optional(),
    }),
  ),
}) satisfies z.ZodType<DeadLetter, unknown>;

export interface DeadLetterStore {
  put(letter: Omit<DeadLetter, "version" | "failedAt">): Promise<string>;
  list(actionKey?: string): AsyncGenerator<{ name: string; letter: DeadLetter }>;
  remove(name: string): Promise<void>;
  count(): Promise<number>;
}

/**
 * Dead letters as JSON blobs in the app's own storage account (container `dead-letters`), one per failed
 * batch, named by action and time so that an operator can find them and `defender-export replay` can send
 * them again. They hold security data, never a destination's secret.
 */
export class BlobDeadLetterStore implements DeadLetterStore {
  #ready: Promise<unknown> | undefined;

  constructor(private readonly container: ContainerClient) {}

  async put(letter: Omit<DeadLetter, "version" | "failedAt">): Promise<string> {
    this.#ready ??= this.container.createIfNotExists();
    await this.#ready;
    const failedAt = new Date().toISOString();
    const name = `${letter.actionKey}/${failedAt.slice(0, 10)}/${failedAt.replace(/[:.]/g, "")}-${randomUUID()}.json`;
    // The payload once: not the JSON text a sink may carry beside it.
    const items = letter.items.map(({ json: _json, ...item }) => item);
    const body = JSON.stringify({ version: 1, failedAt, ...letter, items } satisfies DeadLetter);
    // The record count as metadata: status counts dead letters from a listing, without downloading them.
    await this.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, metadata: { records: String(letter.items.length) } });
    return name;
  }

  async *list(actionKey?: string): AsyncGenerator<{ name: string; letter: DeadLetter }> {
    if (!(await this.container.exists())) return;
    for await (const blob of this.container.listBlobsFlat(actionKey ? { prefix: `${actionKey}/` } : {})) yield { name: blob.name, letter: await this.#read(blob.name) };
  }

  /** Records dead-lettered (for one action), from the listing's metadata; a letter written without it is read. */
  async countRecords(actionKey?: string): Promise<number> {
    if (!(await this.container.exists())) return 0;
    let total = 0;
    for await (const blob of this.container.listBlobsFlat({ includeMetadata: true, ...(actionKey ? { prefix: `${actionKey}/` } : {}) })) {
      const records = Number(blob.metadata?.["records"]);
      total += Number.isInteger(records) ? records : (await this.#read(blob.name)).items.length;
    }
    return total;
  }

  async #read(name: string): Promise<DeadLetter> {
    const buffer = await this.container.getBlobClient(name).downloadToBuffer();
    let json: unknown;
    try {
      json = JSON.parse(buffer.toString("utf8"));
    } catch {
      throw new Error(`dead letter ${name} is not valid JSON`);
    }
    const parsed = deadLetterSchema.safeParse(json);
    if (!parsed.success) throw new Error(`dead letter ${name} is not a dead letter: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data as DeadLetter;
  }

  async remove(name: string): Promise<void> {
    await this.container.getBlobClient(name).deleteIfExists();
  }

  async count(): Promise<number> {
    if (!(await this.container.exists())) return 0;
    let n = 0;
    for await (const blob of this.container.listBlobsFlat()) if (blob.name.endsWith(".json")) n++;
    return n;
  }
}
