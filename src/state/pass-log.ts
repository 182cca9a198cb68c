import { isNotFound } from "../shared/azure-errors.js";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";

/** What status shows of a long pass (snapshots, baselines) while it runs. */
export interface RunningPass {
  id: string;
  mode: string;
  startedAt: string;
  updatedAt: string;
  read: number;
  changed: number;
}
const runningSchema = z.object({ id: z.string(), mode: z.string(), startedAt: z.string(), updatedAt: z.string(), read: z.number(), changed: z.number() });

/** The blob index tag on pass records, which the storage account's lifecycle rule matches. */
export const PASS_RECORD_TAG = { name: "kind", value: "pass-record" } as const;

// Pass record names count down from here (about the year 2286), so that the newest sorts first.
const MAX_TIME = 9_999_999_999_999;

/** A pass record's name among its pass key's records: in name order, the newest comes first. */
export function passRecordName(startedAt: string): string {
  const newestFirst = String(MAX_TIME - Date.parse(startedAt)).padStart(15, "0");
  return `${newestFirst}-${startedAt.replace(/[:.]/g, "")}.json`;
}

/** Keeps a pass's record in `folder`, one blob per pass; returns the blob's name. */
export async function appendPassRecord(container: ContainerClient, folder: string, record: { startedAt: string }): Promise<string> {
  const name = `${folder}${passRecordName(record.startedAt)}`;
  const body = JSON.stringify(record);
  // The tag lets a lifecycle rule (infra/core/storage.bicep) expire pass records, and only them.
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: "application/json" }, tags: { [PASS_RECORD_TAG.name]: PASS_RECORD_TAG.value } });
  return name;
}

/** The last `count` records in `folder`, newest first: one page of the listing, no more. */
export async function recentPassRecords(container: ContainerClient, folder: string, count: number): Promise<unknown[]> {
  const names: string[] = [];
  for await (const page of container.listBlobsFlat({ prefix: folder }).byPage({ maxPageSize: count })) {
    names.push(...page.segment.blobItems.map((b) => b.name));
    break;
  }
  return Promise.all(names.map(async (n) => JSON.parse((await container.getBlobClient(n).downloadToBuffer()).toString("utf8")) as unknown));
}

/** The running marker `marker`, while the lease on `lock` is held: a runner that died leaves its marker, unleased. */
export async function readRunning(container: ContainerClient, marker: string, lock: string): Promise<RunningPass | undefined> {
  const leased = container
    .getBlobClient(lock)
    .getProperties()
    .then(
      (p) => p.leaseState === "leased",
      (e: unknown) => {
        if (isNotFound(e)) return false;
        throw e;
      },
    );
  try {
    const [buffer, held] = await Promise.all([container.getBlobClient(marker).downloadToBuffer(), leased]);
    if (!held) return undefined;
    return parseRunning(buffer.toString("utf8"));
  } catch (e) {
    await leased.catch(() => undefined);
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A stored running marker; undefined when it is not one. */
export function parseRunning(text: string): RunningPass | undefined {
  const parsed = runningSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}
