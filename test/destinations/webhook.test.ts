import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExportConfiguration } from "../../src/config/parse.js";
import type { LogicAppAction } from "../../src/config/model.js";
import { replayDeadLetters } from "../../src/destinations/replay.js";
import { WebhookSink } from "../../src/destinations/webhook.js";
import { SyntheticDataset } from "../../dev/fakes/arm/dataset.js";
import { startAzurite, type Azurite } from "../../dev/fakes/azurite.js";
import { localTls } from "../../dev/fakes/tls.js";
import { FAST, lettersOf, storage } from "../helpers/destinations.js";
import { input } from "../helpers/mapping.js";

let azurite: Azurite;
let url = "";
const received: unknown[] = [];
const answers: number[] = [];
const server = createServer({ key: localTls().key, cert: localTls().cert }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const status = answers.shift() ?? 202;
    if (status < 300) received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    res.writeHead(status, status === 429 ? { "retry-after": "1" } : {});
    res.end();
  });
});

beforeAll(async () => {
  azurite = await startAzurite();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/workflows/wf/triggers/manual/paths/invoke?api-version=2016-10-01&sig=SECRETSIGNATURE`;
}, 30_000);
afterAll(async () => {
  server.close();
  await azurite.stop();
});

const trusted = { trustedHosts: ["127.0.0.1"] };

function action(): LogicAppAction {
  const result = parseExportConfiguration({ sources: [{ eventSource: "Alerts" }], actions: [{ actionType: "LogicApp", uri: url }] }, { allowedDestinations: trusted });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.configuration.actions[0] as LogicAppAction;
}

const dataset = new SyntheticDataset({ alerts: 5 });
/** The SDK's default HTTP client, trusting the test certificate for each request. */
const tlsClient = () => {
  const client = createDefaultHttpClient();
  return { sendRequest: (request: Parameters<typeof client.sendRequest>[0]) => client.sendRequest(Object.assign(request, { tlsSettings: { ca: localTls().cert } })) };
};

describe("Logic App and webhook destination", () => {
  it("POSTs each event as JSON, retrying 429 and 5xx; the trigger URL never leaves the sink", async () => {
    const { deadLetters } = storage(azurite, "wh1");
    const sink = new WebhookSink(action(), { deadLetters, allowedDestinations: trusted, retry: { attempts: 3, delayMs: 10 }, httpClient: tlsClient() });
    answers.push(429, 500);
    for (let i = 0; i < 3; i++) await sink.write(input(dataset.alert(i), "Alerts"));
    const report = await sink.flush();
    expect(report).toMatchObject({ sent: 3, deadLettered: 0, requests: 5 });
    expect(received.map((b) => (b as { SystemAlertId: string }).SystemAlertId)).toEqual([0, 1, 2].map((i) => (dataset.alert(i)["properties"] as { systemAlertId: string }).systemAlertId));
    expect(sink.description).not.toContain("SECRETSIGNATURE");
  });

  it("dead-letters a refused event without the URL; replay sends it once more", async () => {
    received.length = 0;
    const { deadLetters, deadLetterContainer } = storage(azurite, "wh2");
    const sink = new WebhookSink(action(), { deadLetters, allowedDestinations: trusted, retry: FAST, httpClient: tlsClient() });
    answers.push(400);
    await sink.write(input(dataset.alert(4), "Alerts"));
    expect(await sink.flush()).toMatchObject({ sent: 0, deadLettered: 1 });
    const [letter] = await lettersOf(deadLetters);
    expect(letter!.reason).toBe("HTTP 400");
    for await (const blob of deadLetterContainer.listBlobsFlat()) {
      expect((await deadLetterContainer.getBlobClient(blob.name).downloadToBuffer()).toString("utf8")).not.toContain("SECRETSIGNATURE");
    }
    expect(await replayDeadLetters(deadLetters, [sink])).toMatchObject({ resent: 1, failed: 0 });
    expect(received).toHaveLength(1);
  });

  it("a trigger that is gone (404, 401, 403, 410) backs the webhook off at once; events it refuses one by one (400) go to one letter", async () => {
    const { deadLetters } = storage(azurite, "wh4");
    const events = 200;
    const writeAll = async (sink: WebhookSink) => {
      for (let i = 0; i < events; i++) await sink.write(input(new SyntheticDataset({ alerts: events }).alert(i), "Alerts"));
      return sink.flush();
    };
    answers.length = 0;
    answers.push(...Array<number>(events).fill(404));
    const gone = await writeAll(new WebhookSink(action(), { deadLetters, allowedDestinations: trusted, retry: FAST, httpClient: tlsClient() }));
    expect(gone).toMatchObject({ sent: 0, deadLettered: events, requests: 1, backedOffUntil: expect.any(String) });
    expect((await lettersOf(deadLetters)).map((l) => l.items.length).sort((a, b) => a - b)).toEqual([1, events - 1]);

    const { deadLetters: refusedLetters } = storage(azurite, "wh5");
    answers.length = 0;
    answers.push(...Array<number>(events).fill(400));
    const refused = await writeAll(new WebhookSink(action(), { deadLetters: refusedLetters, allowedDestinations: trusted, retry: FAST, httpClient: tlsClient() }));
    expect(refused).toMatchObject({ sent: 0, deadLettered: events, requests: events });
    expect(refused.backedOffUntil).toBeUndefined();
    expect((await lettersOf(refusedLetters)).map((l) => [l.items.length, l.reason])).toEqual([[events, "HTTP 400"]]);
    expect(refused.failures).toEqual([`${events} dead-lettered: HTTP 400`]);
    answers.length = 0;
  }, 60_000);

  it("a dead letter says how many attempts its event had: one for a trigger that is gone, two for a 500 then a 400", async () => {
    const { deadLetters } = storage(azurite, "wh6");
    const sink = new WebhookSink(action(), { deadLetters, allowedDestinations: trusted, retry: FAST, httpClient: tlsClient() });
    answers.length = 0;
    answers.push(404);
    await sink.write(input(dataset.alert(0), "Alerts"));
    expect(await sink.flush()).toMatchObject({ deadLettered: 1, requests: 1 });
    const { deadLetters: refusedLetters } = storage(azurite, "wh7");
    const refusing = new WebhookSink(action(), { deadLetters: refusedLetters, allowedDestinations: trusted, retry: FAST, httpClient: tlsClient() });
    answers.push(500, 400);
    await refusing.write(input(dataset.alert(1), "Alerts"));
    expect(await refusing.flush()).toMatchObject({ deadLettered: 1, requests: 2 });
    expect((await lettersOf(deadLetters)).map((l) => [l.reason, l.attempts])).toEqual([["HTTP 404", 1]]);
    expect((await lettersOf(refusedLetters)).map((l) => [l.reason, l.attempts])).toEqual([["HTTP 400", 2]]);
    answers.length = 0;
  });

  it("never calls a host that is neither Logic Apps' nor trusted", () => {
    const { deadLetters } = storage(azurite, "wh3");
    expect(() => new WebhookSink(action(), { deadLetters, allowedDestinations: { trustedHosts: [] } })).toThrow(/not a Logic Apps endpoint nor in DEFENDER_EXPORT_TRUSTED_HOSTS/);
  });
});
