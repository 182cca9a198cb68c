import type { TokenCredential } from "@azure/core-auth";
import { redactSecretsInText } from "../config/secret.js";
import type { Action, ExportConfiguration, Problem } from "../config/model.js";
import { BlobStateStore, STATE_CONTAINER } from "../state/blob-store.js";
import { BACKOFF_CONTAINER, BlobBackoffStore } from "../destinations/delivery.js";
import { BlobDeadLetterStore, DEAD_LETTER_CONTAINER } from "../destinations/dead-letter.js";
import { createSink } from "../destinations/factory.js";
import { OVERFLOW_CONTAINER } from "../destinations/log-analytics.js";
import type { RetryPolicy, SdkRetryOptions } from "../destinations/retry.js";
import type { Sink, SinkDependencies } from "../destinations/sink.js";
import { ArmReader, GroupMembers } from "../sources/reader.js";
import { GraphQuota } from "../sources/resource-graph.js";
import { BlobGraphQuota, GRAPH_QUOTA_CONTAINER, graphQuotaBlobName } from "../state/graph-quota-bucket.js";
import { defaultCredential } from "../sources/credentials.js";
import { CONFIGURATION_TABLE, ConfigurationStore } from "./configurations.js";
import { PassQueue } from "./queue.js";
import type { AppSettings } from "./settings.js";
import { storageClients, type StorageClients } from "./storage.js";

export interface ContextDependencies {
  storage: StorageClients;
  settings: AppSettings;
  /** For ARM and for destinations reached with the app's identity. */
  credential: TokenCredential;
  /** The local sandbox: trust its endpoints' certificate. */
  tlsCa?: string;
  /** Retries of deliveries, ours and the SDKs' (the defaults: 3 attempts 2 s apart, over each SDK's own). */
  delivery?: { retry?: RetryPolicy; sdkRetryOptions?: SdkRetryOptions };
  now?: () => Date;
}

/**
 * The composition root: the stores, the reader and the sinks, made from parsed settings in one way for the
 * Functions app, the local host and the CLI. Each store is made when first used, so that a command needing
 * only Blob storage works with an account that has nothing else.
 */
export class ExportContext {
  readonly settings: AppSettings;
  readonly now: () => Date;
  readonly #deps: ContextDependencies;

  constructor(deps: ContextDependencies) {
    this.#deps = deps;
    this.settings = deps.settings;
    this.now = deps.now ?? (() => new Date());
  }

  get storage(): StorageClients {
    return this.#deps.storage;
  }

  #configurations: ConfigurationStore | undefined;
  get configurations(): ConfigurationStore {
    return (this.#configurations ??= new ConfigurationStore(this.#deps.storage.table(CONFIGURATION_TABLE), this.settings.allowedDestinations, this.settings.maxConfigurations));
  }

  #state: BlobStateStore | undefined;
  get state(): BlobStateStore {
    return (this.#state ??= new BlobStateStore(this.#deps.storage.blob.getContainerClient(STATE_CONTAINER), this.#deps.storage.setting));
  }

  #deadLetters: BlobDeadLetterStore | undefined;
  get deadLetters(): BlobDeadLetterStore {
    return (this.#deadLetters ??= new BlobDeadLetterStore(this.#deps.storage.blob.getContainerClient(DEAD_LETTER_CONTAINER)));
  }

  #backoff: BlobBackoffStore | undefined;
  /** Shared by every configuration, and by the CLI when it uses the app's storage account. */
  get backoff(): BlobBackoffStore {
    return (this.#backoff ??= new BlobBackoffStore(this.#deps.storage.blob.getContainerClient(BACKOFF_CONTAINER)));
  }

  #queue: PassQueue | undefined;
  get queue(): PassQueue {
    return (this.#queue ??= new PassQueue(this.#deps.storage.queue, this.settings.queue));
  }

  // Resource Graph's quota is the identity's: the passes running at once in this process share it, and
  // through a blob of the app's account, the other instances' passes too.
  readonly #graphQuotas = new Map<string, GraphQuota>();

  graphQuota(endpoint = this.settings.armEndpoint): GraphQuota {
    const key = new URL(endpoint).origin.toLowerCase();
    let quota = this.#graphQuotas.get(key);
    if (quota === undefined) {
      const sized = this.settings.graphQuota;
      const warn = (e: Error) =>
        console.warn(
          `defender-export: Resource Graph's quota shared through the container ${GRAPH_QUOTA_CONTAINER} of ${this.#deps.storage.setting} cannot be used; this instance counts alone for now: ${redactSecretsInText(e.message.split("\n")[0] ?? "")}`,
        );
      let shared: BlobGraphQuota | undefined;
      try {
        shared = sized === "off" ? undefined : new BlobGraphQuota(this.#deps.storage.blob.getContainerClient(GRAPH_QUOTA_CONTAINER), graphQuotaBlobName(endpoint, this.settings.clientId), sized);
      } catch (e) {
        // A read never fails for the shared quota: without a Blob service the process counts alone.
        warn(e as Error);
      }
      quota = new GraphQuota({ ...(shared === undefined ? {} : { shared }), onSharedUnavailable: warn });
      this.#graphQuotas.set(key, quota);
    }
    return quota;
  }

  // Who is in a management group: asked by every unit pass of every source, shared by this process's readers.
  readonly #groupMembers = new GroupMembers();

  /** `endpoint`: another ARM endpoint than the settings' (the CLI's --arm-endpoint). */
  reader(endpoint = this.settings.armEndpoint): ArmReader {
    return new ArmReader({
      credential: this.#deps.credential,
      endpoint,
      graphQuota: this.graphQuota(endpoint),
      groupMembers: this.#groupMembers,
      ...(this.#deps.tlsCa ? { tlsCa: this.#deps.tlsCa } : {}),
    });
  }

  /**
   * A sink per action of the configuration `name`. An action that cannot deliver (a missing app setting, an
   * untrusted host) throws, unless `unusable` takes it: then the other actions' sinks are made.
   */
  sinks(name: string, configuration: ExportConfiguration, unusable?: (action: Action, error: Error) => void): Sink[] {
    const deps = this.#sinkDependencies(name);
    return configuration.actions.flatMap((action) => {
      try {
        return [createSink(action, deps)];
      } catch (e) {
        if (unusable === undefined) throw e;
        unusable(action, e as Error);
        return [];
      }
    });
  }

  /** Actions whose app settings are missing or that cannot deliver for another reason, found before storing. */
  unusableActions(configuration: ExportConfiguration): Problem[] {
    const problems: Problem[] = [];
    const deps = this.#sinkDependencies();
    configuration.actions.forEach((action, i) => {
      try {
        void createSink(action, deps).close();
      } catch (e) {
        problems.push({ path: `$.actions[${i}]`, message: (e as Error).message });
      }
    });
    return problems;
  }

  #sinkDependencies(configuration?: string): SinkDependencies {
    return {
      credential: this.#deps.credential,
      deadLetters: this.deadLetters,
      backoff: this.backoff,
      overflow: this.#deps.storage.blob.getContainerClient(OVERFLOW_CONTAINER),
      allowedDestinations: this.settings.allowedDestinations,
      destinationAppSettings: this.settings.destinationAppSettings,
      ...(configuration !== undefined ? { configuration } : {}),
      ...(this.#deps.tlsCa ? { tlsCa: this.#deps.tlsCa } : {}),
      ...this.#deps.delivery,
    };
  }
}

/** The context of the app settings, with the app's identity. */
export function contextFromSettings(settings: AppSettings): ExportContext {
  const credential = defaultCredential(settings.clientId);
  return new ExportContext({ storage: storageClients(settings.storage, credential), settings, credential });
}
