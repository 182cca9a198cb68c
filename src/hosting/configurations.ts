import { RestError, type TableClient, type TableEntity, type TableEntityResult } from "@azure/data-tables";
import { z } from "zod";
import { parseExportConfiguration, toPublicConfiguration, type ExportConfiguration } from "../config/index.js";
import type { DestinationPolicy } from "../config/actions.js";

/** The table of export configurations in the app's storage account. */
export const CONFIGURATION_TABLE = "exportconfigurations";
const PARTITION = "exports";
// A table property holds 64 KiB (32 K UTF-16 units); an entity 1 MiB. Larger documents are split.
const CHUNK = 30_000;
const MAX_CHUNKS = 15;

export const CONFIGURATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface StoredConfiguration {
  name: string;
  configuration: ExportConfiguration;
  etag: string;
  updatedAt: string;
}

export class ConfigurationConflictError extends Error {}
export class ConfigurationTooLargeError extends Error {}

const entitySchema = z.object({
  version: z.literal(1),
  chunks: z.number().int().min(1).max(MAX_CHUNKS),
  updatedAt: z.string(),
});

/**
 * Export configurations in Azure Table storage, one entity each, guarded by ETags. What is stored is the
 * normalized configuration without secrets (the hosts refuse inline secrets: app settings or Key Vault
 * references by name only), and it is validated again when read.
 */
export class ConfigurationStore {
  #ready: Promise<void> | undefined;

  constructor(
    private readonly table: TableClient,
    private readonly destinationPolicy: DestinationPolicy,
  ) {}

  #ensure(): Promise<void> {
    this.#ready ??= this.table.createTable().catch((e: unknown) => {
      this.#ready = undefined;
      throw e;
    });
    return this.#ready;
  }

  async get(name: string): Promise<StoredConfiguration | undefined> {
    await this.#ensure();
    try {
      return this.#decode(await this.table.getEntity<Record<string, unknown>>(PARTITION, name));
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw e;
    }
  }

  async *list(): AsyncGenerator<StoredConfiguration> {
    await this.#ensure();
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
      yield this.#decode(entity);
    }
  }

  /**
   * Creates or replaces. `ifMatch`: only if the stored ETag is this one; `create`: only if there is none.
   * Without either, the last writer wins, as with ARM.
   */
  async put(name: string, configuration: ExportConfiguration, conditions: { ifMatch?: string; create?: boolean } = {}): Promise<StoredConfiguration & { created: boolean }> {
    await this.#ensure();
    const document = JSON.stringify(toPublicConfiguration({ ...configuration, name }));
    const chunks = Math.max(1, Math.ceil(document.length / CHUNK));
    if (chunks > MAX_CHUNKS) throw new ConfigurationTooLargeError(`the configuration is ${document.length} characters; at most ${CHUNK * MAX_CHUNKS} can be stored`);
    const updatedAt = new Date().toISOString();
    const entity: TableEntity<Record<string, unknown>> = { partitionKey: PARTITION, rowKey: name, version: 1, chunks, updatedAt };
    for (let i = 0; i < chunks; i++) entity[`document${i}`] = document.slice(i * CHUNK, (i + 1) * CHUNK);
    const stored = (etag: string | undefined, created: boolean) => ({ name, configuration: { ...configuration, name }, etag: etag ?? "", updatedAt, created });
    try {
      if (conditions.ifMatch !== undefined) return stored((await this.table.updateEntity(entity, "Replace", { etag: conditions.ifMatch })).etag, false);
      // Create first: one request for a new configuration, and whether it is new without reading it.
      try {
        return stored((await this.table.createEntity(entity)).etag, true);
      } catch (e) {
        if (conditions.create || !(e instanceof RestError && e.statusCode === 409)) throw e;
      }
      return stored((await this.table.upsertEntity(entity, "Replace")).etag, false);
    } catch (e) {
      throw conflict(e, name) ?? e;
    }
  }

  /** Deletes; false when there was none. `ifMatch`: only if the stored ETag is this one. */
  async delete(name: string, ifMatch?: string): Promise<boolean> {
    await this.#ensure();
    try {
      await this.table.deleteEntity(PARTITION, name, ifMatch !== undefined ? { etag: ifMatch } : {});
      return true;
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) {
        if (ifMatch !== undefined) throw new ConfigurationConflictError(`configuration ${name} does not exist (If-Match was given)`);
        return false;
      }
      throw conflict(e, name) ?? e;
    }
  }

  #decode(entity: TableEntityResult<Record<string, unknown>>): StoredConfiguration {
    const name = entity.rowKey ?? "";
    const meta = entitySchema.safeParse(entity);
    if (!meta.success) throw new Error(`stored configuration ${name} is not valid: ${meta.error.issues[0]?.message ?? "invalid"}`);
    let text = "";
    for (let i = 0; i < meta.data.chunks; i++) {
      const part = entity[`document${i}`];
      if (typeof part !== "string") throw new Error(`stored configuration ${name} is missing part ${i} of ${meta.data.chunks}`);
      text += part;
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new Error(`stored configuration ${name} is not JSON`);
    }
    const parsed = parseExportConfiguration(document, { destinationPolicy: this.destinationPolicy });
    if (!parsed.ok) throw new Error(`stored configuration ${name} is no longer valid: ${parsed.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    return { name, configuration: { ...parsed.configuration, name }, etag: entity.etag, updatedAt: meta.data.updatedAt };
  }
}

function conflict(e: unknown, name: string): ConfigurationConflictError | undefined {
  if (!(e instanceof RestError)) return undefined;
  if (e.statusCode === 412) return new ConfigurationConflictError(`configuration ${name} changed since that ETag (If-Match does not match)`);
  if (e.statusCode === 409) return new ConfigurationConflictError(`configuration ${name} already exists (If-None-Match: *)`);
  return undefined;
}
