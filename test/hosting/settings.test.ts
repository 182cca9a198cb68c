import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAppSettings, registrationSettings } from "../../src/hosting/settings.js";
import { storageClients } from "../../src/hosting/storage.js";
import { staticCredential } from "../helpers/arm.js";
import { ROOT as root, settingsRead } from "../helpers/settings.js";

describe("app settings", () => {
  it("every setting the code reads is in local.settings.sample.json and documented in the README", () => {
    const sample = JSON.parse(readFileSync(join(root, "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const read = settingsRead();
    expect(read.length).toBeGreaterThan(10);
    expect(read.filter((n) => !(n in sample.Values))).toEqual([]);
    expect(read.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
    for (const suffix of ["accountName", "blobServiceUri", "queueServiceUri", "tableServiceUri"]) expect(readme).toContain(`AzureWebJobsStorage__${suffix}`);
  });

  it("defaults, and a bad value names the setting and what was expected", () => {
    expect(readAppSettings({})).toMatchObject({
      streamSchedule: "0 */5 * * * *",
      snapshotCheckSchedule: "0 0 * * * *",
      queue: "export-passes",
      passTimeLimitSeconds: 540,
      maxBodyBytes: 1_048_576,
      writeRole: "Exports.Write",
      armEndpoint: "https://management.azure.com",
    });
    expect(() => readAppSettings({ DEFENDER_EXPORT_STREAM_SCHEDULE: "*/5 * * * *" })).toThrow(
      /DEFENDER_EXPORT_STREAM_SCHEDULE: expected an NCRONTAB expression, six fields with seconds first, such as "0 \*\/5 \* \* \* \*": expected six fields/,
    );
    // Six fields that no timer could read: refused here, at start-up, by the same parser as the configurations' schedules.
    expect(() => readAppSettings({ DEFENDER_EXPORT_STREAM_SCHEDULE: "a b c d e f" })).toThrow(/^DEFENDER_EXPORT_STREAM_SCHEDULE: expected an NCRONTAB expression/);
    expect(() => readAppSettings({ DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: "0 0 25 * * *" })).toThrow(/^DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: expected an NCRONTAB expression/);
    expect(() => readAppSettings({ DEFENDER_EXPORT_REQUIRE_ROLE: "yes" })).toThrow(/DEFENDER_EXPORT_REQUIRE_ROLE: expected true or false/);
    expect(readAppSettings({}).graphQuota).toEqual({ queries: 15, windowMs: 5000 });
    expect(readAppSettings({ DEFENDER_EXPORT_GRAPH_QUOTA: "30/10" }).graphQuota).toEqual({ queries: 30, windowMs: 10_000 });
    expect(readAppSettings({ DEFENDER_EXPORT_GRAPH_QUOTA: "Off" }).graphQuota).toBe("off");
    for (const bad of ["15", "0/5", "15/0", "15 per 5", "-1/5"]) {
      expect(() => readAppSettings({ DEFENDER_EXPORT_GRAPH_QUOTA: bad })).toThrow(/^DEFENDER_EXPORT_GRAPH_QUOTA: expected queries per seconds, such as "15\/5" .*, or "off"$/);
    }
    // What croner reads but the host's NCRONTAB does not (a timer would not start): refused; names are fine.
    expect(() => readAppSettings({ DEFENDER_EXPORT_STREAM_SCHEDULE: "0 0 0 L * *" })).toThrow(/L, W, # and \? are not NCRONTAB/);
    expect(() => readAppSettings({ DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: "0 0 9 ? * MON#1" })).toThrow(/are not NCRONTAB/);
    expect(readAppSettings({ DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: "0 0 9 * JUL WED-FRI" }).snapshotCheckSchedule).toBe("0 0 9 * JUL WED-FRI");
    // The host registers the functions whatever the settings: a bad value falls back to the default there.
    expect(registrationSettings({ DEFENDER_EXPORT_STREAM_SCHEDULE: "a b c d e f", DEFENDER_EXPORT_QUEUE: "Bad_Queue" })).toEqual({
      streamSchedule: "0 */5 * * * *",
      snapshotCheckSchedule: "0 0 * * * *",
      queue: "export-passes",
    });
    expect(registrationSettings({ DEFENDER_EXPORT_STREAM_SCHEDULE: "0 */10 * * * *" }).streamSchedule).toBe("0 */10 * * * *");
    expect(() => readAppSettings({ DEFENDER_EXPORT_QUEUE: "Export_Passes" })).toThrow(/DEFENDER_EXPORT_QUEUE: expected a storage queue name/);
    expect(() => readAppSettings({ DEFENDER_EXPORT_PASS_TIME_LIMIT: "ten" })).toThrow(/DEFENDER_EXPORT_PASS_TIME_LIMIT: expected a whole number from 1 to 86400/);
    expect(() => readAppSettings({ ARM_ENDPOINT: "http://insecure" })).toThrow(/ARM_ENDPOINT: expected an https:\/\/ URL/);
  });

  it("storage: a connection string, else the identity-based connection (shared keys off), else Azurite", () => {
    expect(readAppSettings({}).storage).toEqual({ setting: "AzureWebJobsStorage (unset: Azurite's development storage)", connectionString: "UseDevelopmentStorage=true" });
    expect(readAppSettings({ AzureWebJobsStorage: "a", DEFENDER_EXPORT_STORAGE: "b" }).storage).toEqual({ setting: "DEFENDER_EXPORT_STORAGE", connectionString: "b" });
    const byIdentity = storageClients(readAppSettings({ AzureWebJobsStorage__accountName: "stexport" }).storage, staticCredential());
    expect(byIdentity.blob.url).toBe("https://stexport.blob.core.windows.net/");
    expect(byIdentity.queue.url).toMatch(/^https:\/\/stexport\.queue\.core\.windows\.net\/?$/);
    expect(byIdentity.table("t").url).toBe("https://stexport.table.core.windows.net");
    expect(byIdentity.description).not.toMatch(/key/i);
    expect(byIdentity.setting).toBe("AzureWebJobsStorage__accountName");
    expect(() => readAppSettings({ AzureWebJobsStorage__blobServiceUri: "https://x.blob.core.windows.net" })).toThrow(/expected all three/);
    // Each client is made when first used, and a connection string it cannot use is named, never shown.
    const blobOnly = storageClients(
      readAppSettings({ DEFENDER_EXPORT_STORAGE: "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=NEVERSHOWN" }).storage,
      staticCredential(),
    );
    expect(new URL(blobOnly.blob.url).origin).toBe("https://acct.blob.core.windows.net");
    expect(() => blobOnly.queue).toThrow(/^DEFENDER_EXPORT_STORAGE: the Queue service cannot be reached from it/);
    let message = "";
    try {
      void blobOnly.queue;
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toContain("NEVERSHOWN");
  });
});
