import { isNotFound } from "../shared/azure-errors.js";
import { onceUntilRejected } from "../shared/once.js";
import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { CONFIGURATION_NAME } from "../config/model.js";
import { letterItem, type DeliveryItem } from "./sink.js";

/** Container of the dead letters in the app's own storage account. */
export const DEAD_LETTER_CONTAINER = "dead-letters";

/** A batch that could not be delivered: where it was going, why, and the payloads exactly as they were. */
export interface DeadLetter {
  version: 1;
  /** The configuration whose pass dead-lettered it (letters written before it was kept have none). */
  configuration?: string;
  actionKey: string;
  destination: string;
  reason: string;
  failedAt: string;
  attempts: number;
  items: DeliveryItem[];
}

const deadLetterSchema = z.object({
  version: z.literal(1),
  configuration: z.string().optional(),
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

/** Which letters: of one configuration (and those written before letters were filed by configuration), of one action. */
export interface LetterFilter {
  configuration?: string;
  actionKey?: string;
}

export interface DeadLetterStore {
  put(letter: Omit<DeadLetter, "version" | "failedAt">): Promise<string>;
  list(filter?: LetterFilter): AsyncGenerator<{ name: string; letter: DeadLetter }>;
  /** The letters' names, without reading them. */
  names(filter?: LetterFilter): AsyncGenerator<{ name: string }>;
  /** One letter; undefined when it is gone. */
  read(name: string): Promise<DeadLetter | undefined>;
  remove(name: string): Promise<void>;
}

// Letters of a configuration are under `by-configuration/<name>/<action key>/`; older ones under `<action key>/`.
const BY_CONFIGURATION = "by-configuration";

/**
 * Dead letters as JSON blobs in the app's own storage account (container `dead-letters`), one per failed
 * batch, named by configuration, action and time so that an operator can find them and replay can send them
 * again; two configurations with the same destination keep their letters apart. They hold security data,
 * never a destination's secret.
 */
export class BlobDeadLetterStore implements DeadLetterStore {
  constructor(private readonly container: ContainerClient) {}

  /** Its container exists (made once; a failure is tried again at the next call, never remembered). */
  readonly ready = onceUntilRejected(() => this.container.createIfNotExists());

  async put(letter: Omit<DeadLetter, "version" | "failedAt">): Promise<string> {
    if (letter.configuration !== undefined && !CONFIGURATION_NAME.test(letter.configuration)) throw new Error("a dead letter's configuration must be a configuration name (letters, digits, _ . -)");
    await this.ready();
    const failedAt = new Date().toISOString();
    const folder = letter.configuration === undefined ? letter.actionKey : `${BY_CONFIGURATION}/${encodeURIComponent(letter.configuration)}/${letter.actionKey}`;
    const name = `${folder}/${failedAt.slice(0, 10)}/${failedAt.replace(/[:.]/g, "")}-${randomUUID()}.json`;
    // The payload once: not the JSON text a sink may carry beside it.
    const items = letter.items.map(letterItem);
    const body = JSON.stringify({ version: 1, failedAt, ...letter, items } satisfies DeadLetter);
    // The record count as metadata: status counts dead letters from a listing, without downloading them.
    await this.container
      .getBlockBlobClient(name)
      .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, metadata: { records: String(letter.items.length) } });
    return name;
  }

  async *list(filter: LetterFilter = {}): AsyncGenerator<{ name: string; letter: DeadLetter }> {
    for await (const { name } of this.names(filter)) yield { name, letter: await this.#read(name) };
  }

  async *names(filter: LetterFilter = {}): AsyncGenerator<{ name: string }> {
    if (!(await this.container.exists())) return;
    for (const prefix of prefixes(filter)) {
      for await (const blob of this.container.listBlobsFlat(prefix === "" ? {} : { prefix })) if (blob.name.endsWith(".json")) yield { name: blob.name };
    }
  }

  async read(name: string): Promise<DeadLetter | undefined> {
    try {
      return await this.#read(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Records dead-lettered, from the listing's metadata; a letter written without it is read. */
  async countRecords(filter: LetterFilter = {}): Promise<number> {
    if (!(await this.container.exists())) return 0;
    let total = 0;
    for (const prefix of prefixes(filter)) {
      for await (const blob of this.container.listBlobsFlat({ includeMetadata: true, ...(prefix === "" ? {} : { prefix }) })) {
        if (!blob.name.endsWith(".json")) continue;
        const records = Number(blob.metadata?.["records"]);
        total += Number.isInteger(records) ? records : (await this.#read(blob.name)).items.length;
      }
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
}

/** Where a filter's letters are: the configuration's folder (or all), and the older letters of the action. */
function prefixes(filter: LetterFilter): string[] {
  if (filter.configuration === undefined) return [filter.actionKey === undefined ? "" : `${filter.actionKey}/`];
  const mine = `${BY_CONFIGURATION}/${encodeURIComponent(filter.configuration)}/${filter.actionKey === undefined ? "" : `${filter.actionKey}/`}`;
  return filter.actionKey === undefined ? [mine] : [mine, `${filter.actionKey}/`];
}
