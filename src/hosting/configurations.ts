import { isConflict, isNotFound, isPreconditionFailed, statusOf } from "../shared/azure-errors.js";
import { onceUntilRejected } from "../shared/once.js";
import { randomUUID } from "node:crypto";
import { type TableClient, type TableEntity, type TableEntityResult } from "@azure/data-tables";
import { z } from "zod";
import { parseExportConfiguration } from "../config/parse.js";
import { toPublicConfiguration } from "../config/public.js";
import type { AllowedDestinations } from "../config/endpoints.js";
import type { ExportConfiguration, Problem } from "../config/model.js";

/** The table of export configurations in the app's storage account. */
export const CONFIGURATION_TABLE = "exportconfigurations";
const PARTITION = "exports";
// A table property holds 64 KiB (32 K UTF-16 units); an entity 1 MiB. Larger documents are split.
const CHUNK = 30_000;
const MAX_CHUNKS = 15;

/** An entity tag as HTTP carries it: `*`, or a quoted string, weak or strong. */
const ETAG = /^\*$|^(?:W\/)?"[\x21\x23-\x7e]*"$/;

export interface StoredConfiguration {
  name: string;
  configuration: ExportConfiguration;
  etag: string;
  updatedAt: string;
  /**
   * Made when the configuration is created, kept when it is replaced: a configuration deleted and made
   * again under its name is another one. Passes and their state carry it. Undefined for one stored
   * before generations were kept.
   */
  generation: string | undefined;
  /** When this generation was created (none for one stored before it was kept). */
  createdAt: string | undefined;
}

/** Who a configuration is: its generation and when it was created, kept when it is replaced. */
interface Identity {
  generation: string | undefined;
  createdAt: string | undefined;
}

/** A stored configuration that no longer validates (a change of DEFENDER_EXPORT_TRUSTED_HOSTS, an older version's rules). */
export interface InvalidConfiguration {
  name: string;
  etag: string;
  updatedAt: string | undefined;
  errors: Problem[];
}

export type ListedConfiguration = { valid: true; stored: StoredConfiguration } | { valid: false; invalid: InvalidConfiguration };

export class ConfigurationConflictError extends Error {}
export class ConfigurationTooLargeError extends Error {}
/** A condition that is not an ETag at all. */
export class ConfigurationConditionError extends Error {}
/** The configuration would not read back as it was given: nothing was stored. */
export class ConfigurationNotStorableError extends Error {
  constructor(
    message: string,
    readonly errors: Problem[],
  ) {
    super(message);
  }
}
export class ConfigurationLimitError extends Error {}
export class InvalidStoredConfigurationError extends Error {
  constructor(readonly invalid: InvalidConfiguration) {
    super(`stored configuration ${invalid.name} no longer validates: ${invalid.errors.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  }
}

const entitySchema = z.object({
  version: z.literal(1),
  chunks: z.number().int().min(1).max(MAX_CHUNKS),
  updatedAt: z.string(),
  generation: z.string().min(1).optional(),
  createdAt: z.string().optional(),
});

/**
 * Export configurations in Azure Table storage, one entity each, guarded by ETags. What is stored is the
 * normalized configuration without secrets (the hosts refuse inline secrets: app settings or Key Vault
 * references by name only), only once it reads back valid, and it is validated again when read: one that no
 * longer validates is reported as such, never thrown at whoever lists the others.
 */
export class ConfigurationStore {
  constructor(
    private readonly table: TableClient,
    private readonly allowedDestinations: AllowedDestinations,
    /** At most this many configurations: every timer reads all of them. */
    private readonly maxConfigurations = Infinity,
  ) {}

  /** Its table exists: made once; a failure is tried again at the next call. */
  readonly ready = onceUntilRejected(() => this.table.createTable());

  /** The configuration; undefined when there is none; InvalidStoredConfigurationError when it no longer validates. */
  async get(name: string): Promise<StoredConfiguration | undefined> {
    const listed = await this.find(name);
    if (listed === undefined) return undefined;
    if (!listed.valid) throw new InvalidStoredConfigurationError(listed.invalid);
    return listed.stored;
  }

  /** The configuration as stored, valid or not. */
  async find(name: string): Promise<ListedConfiguration | undefined> {
    await this.ready();
    try {
      return this.#decode(await this.table.getEntity<Record<string, unknown>>(PARTITION, name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Its generation, read alone (a running pass asks whether its configuration is still the same one). */
  async generation(name: string): Promise<{ exists: boolean; generation: string | undefined }> {
    await this.ready();
    const current = await this.#current(name);
    return { exists: current !== undefined, generation: current?.generation };
  }

  /** The stored entity's ETag and generation, read together; undefined when there is none. */
  async #current(name: string): Promise<({ etag: string } & Identity) | undefined> {
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(PARTITION, name, { queryOptions: { select: ["generation", "createdAt"] } });
      const text = (key: string) => (typeof entity[key] === "string" ? (entity[key] as string) : undefined);
      return { etag: entity.etag, generation: text("generation"), createdAt: text("createdAt") };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Every configuration, valid or not, in name order: one that no longer validates does not stop the others. */
  async *list(): AsyncGenerator<ListedConfiguration> {
    await this.ready();
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
      yield this.#decode(entity);
    }
  }

  /**
   * Creates or replaces. `ifMatch`: only if the stored ETag is this one (`*`: only if it exists); `create`:
   * only if there is none. Without either, the last writer wins, as with ARM. A replaced configuration
   * keeps its generation; a created one gets a new one.
   */
  async put(name: string, configuration: ExportConfiguration, conditions: { ifMatch?: string; create?: boolean } = {}): Promise<StoredConfiguration & { created: boolean }> {
    if (conditions.ifMatch !== undefined && !ETAG.test(conditions.ifMatch))
      throw new ConfigurationConditionError(`If-Match ${JSON.stringify(conditions.ifMatch.slice(0, 80))} is not an entity tag; expected * or the quoted ETag a GET answered`);
    await this.ready();
    const document = JSON.stringify(toPublicConfiguration({ ...configuration, name }));
    // Stored only as it will be read: a configuration that would not read back valid would stop the others.
    const again = parseExportConfiguration(JSON.parse(document) as unknown, { allowedDestinations: this.allowedDestinations });
    if (!again.ok) throw new ConfigurationNotStorableError("the configuration would not read back valid as stored", again.errors);
    const chunks = Math.max(1, Math.ceil(document.length / CHUNK));
    if (chunks > MAX_CHUNKS) throw new ConfigurationTooLargeError(`the configuration is ${document.length} characters; at most ${CHUNK * MAX_CHUNKS} can be stored`);
    const updatedAt = new Date().toISOString();
    const entity = ({ generation, createdAt }: Identity): TableEntity<Record<string, unknown>> => {
      const e: TableEntity<Record<string, unknown>> = {
        partitionKey: PARTITION,
        rowKey: name,
        version: 1,
        chunks,
        updatedAt,
        ...(generation !== undefined ? { generation } : {}),
        ...(createdAt !== undefined ? { createdAt } : {}),
      };
      for (let i = 0; i < chunks; i++) e[`document${i}`] = document.slice(i * CHUNK, (i + 1) * CHUNK);
      return e;
    };
    const stored = (etag: string | undefined, created: boolean, { generation, createdAt }: Identity) => ({
      name,
      configuration: { ...configuration, name },
      etag: etag ?? "",
      updatedAt,
      generation,
      createdAt,
      created,
    });
    try {
      if (conditions.ifMatch !== undefined) {
        for (let attempt = 0; ; attempt++) {
          const current = await this.#current(name);
          if (current === undefined) throw new ConfigurationConflictError(`configuration ${name} does not exist (If-Match was given)`);
          // `*` replaces the one read with its generation, not whichever is there by then (deleted and made again).
          const etag = conditions.ifMatch === "*" ? current.etag : conditions.ifMatch;
          try {
            return stored((await this.table.updateEntity(entity(current), "Replace", { etag })).etag, false, current);
          } catch (e) {
            if (!(conditions.ifMatch === "*" && isPreconditionFailed(e)) || attempt >= 4) throw e;
          }
        }
      }
      for (let attempt = 0; ; attempt++) {
        // Create first: one request for a new configuration, and whether it is new without reading it.
        await this.#withinLimit(name);
        const identity: Identity = { generation: randomUUID(), createdAt: updatedAt };
        try {
          return stored((await this.table.createEntity(entity(identity))).etag, true, identity);
        } catch (e) {
          if (conditions.create || !isConflict(e)) throw e;
        }
        // It exists: replace it as it is now, keeping its generation (a concurrent change or delete goes round again).
        const current = await this.#current(name);
        if (current === undefined) continue;
        try {
          return stored((await this.table.updateEntity(entity(current), "Replace", { etag: current.etag })).etag, false, current);
        } catch (e) {
          if (!(isPreconditionFailed(e) || isNotFound(e)) || attempt >= 4) throw e;
        }
      }
    } catch (e) {
      throw conflict(e, name, conditions.ifMatch !== undefined) ?? e;
    }
  }

  async #withinLimit(name: string): Promise<void> {
    if (!Number.isFinite(this.maxConfigurations)) return;
    let count = 0;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'`, select: ["RowKey"] } })) {
      if (entity.rowKey === name) return;
      count++;
    }
    if (count >= this.maxConfigurations) throw new ConfigurationLimitError(`there are ${count} export configurations, the most this app keeps (DEFENDER_EXPORT_MAX_CONFIGURATIONS); delete one first`);
  }

  /** Deletes; false when there was none. `ifMatch`: only if the stored ETag is this one (`*`: if it exists). */
  async delete(name: string, ifMatch?: string): Promise<boolean> {
    if (ifMatch !== undefined && !ETAG.test(ifMatch))
      throw new ConfigurationConditionError(`If-Match ${JSON.stringify(ifMatch.slice(0, 80))} is not an entity tag; expected * or the quoted ETag a GET answered`);
    await this.ready();
    try {
      await this.table.deleteEntity(PARTITION, name, ifMatch !== undefined ? { etag: ifMatch } : {});
      return true;
    } catch (e) {
      if (isNotFound(e)) {
        if (ifMatch !== undefined) throw new ConfigurationConflictError(`configuration ${name} does not exist (If-Match was given)`);
        return false;
      }
      // An ETag the table cannot read, for one that does not exist: as for PUT, that it does not exist comes first.
      if (ifMatch !== undefined && statusOf(e) === 400 && (await this.#current(name)) === undefined) {
        throw new ConfigurationConflictError(`configuration ${name} does not exist (If-Match was given)`);
      }
      throw conflict(e, name, ifMatch !== undefined) ?? e;
    }
  }

  #decode(entity: TableEntityResult<Record<string, unknown>>): ListedConfiguration {
    const name = entity.rowKey ?? "";
    const invalid = (message: string, updatedAt?: string): ListedConfiguration => ({ valid: false, invalid: { name, etag: entity.etag, updatedAt, errors: [{ path: "$", message }] } });
    const meta = entitySchema.safeParse(entity);
    if (!meta.success) return invalid(`the stored entity is not a configuration: ${meta.error.issues[0]?.message ?? "invalid"}`);
    let text = "";
    for (let i = 0; i < meta.data.chunks; i++) {
      const part = entity[`document${i}`];
      if (typeof part !== "string") return invalid(`part ${i} of ${meta.data.chunks} is missing`, meta.data.updatedAt);
      text += part;
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      return invalid("the stored document is not JSON", meta.data.updatedAt);
    }
    const parsed = parseExportConfiguration(document, { allowedDestinations: this.allowedDestinations });
    if (!parsed.ok) return { valid: false, invalid: { name, etag: entity.etag, updatedAt: meta.data.updatedAt, errors: parsed.errors } };
    return {
      valid: true,
      stored: { name, configuration: { ...parsed.configuration, name }, etag: entity.etag, updatedAt: meta.data.updatedAt, generation: meta.data.generation, createdAt: meta.data.createdAt },
    };
  }
}

function conflict(e: unknown, name: string, conditional: boolean): Error | undefined {
  const status = statusOf(e);
  if (status === 412) return new ConfigurationConflictError(`configuration ${name} changed since that ETag (If-Match does not match)`);
  if (status === 409) return new ConfigurationConflictError(`configuration ${name} already exists (If-None-Match: *)`);
  // Under If-Match: gone meanwhile, or an ETag the table cannot read.
  if (conditional && status === 404) return new ConfigurationConflictError(`configuration ${name} does not exist (If-Match was given)`);
  if (conditional && status === 400) return new ConfigurationConditionError("If-Match is not an ETag of this configuration; expected * or the quoted ETag a GET answered");
  return undefined;
}
