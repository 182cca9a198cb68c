import type { Action } from "../config/model.js";
import { BlobSink } from "./blob.js";
import { EventHubSink } from "./event-hubs.js";
import { LogAnalyticsSink } from "./log-analytics.js";
import type { Sink, SinkDependencies } from "./sink.js";
import { WebhookSink } from "./webhook.js";

/** The sink that delivers to an action. Throws, naming the problem, when the action cannot deliver. */
export function createSink(action: Action, deps: SinkDependencies): Sink {
  switch (action.actionType) {
    case "Workspace":
      return new LogAnalyticsSink(action, deps);
    case "EventHub":
      return new EventHubSink(action, deps);
    case "LogicApp":
      return new WebhookSink(action, deps);
    case "StorageAccount":
      return new BlobSink(action, deps);
  }
}
