import type { ExportContext } from "./context.js";

export interface Health {
  ok: boolean;
  /** Working, but a stored configuration no longer validates and runs no pass. */
  degraded: boolean;
  checks: Record<string, string>;
}

/** Storage and what the passes need in it, the initial configuration when one is set, and the stored configurations. */
export async function healthOf(context: ExportContext, ensureInitialConfiguration: () => Promise<void>): Promise<Health> {
  const checks: Record<string, string> = {};
  try {
    await context.storage.blob.getProperties();
    // A container or table that could not be made is made again here, or named.
    await Promise.all([context.state.ready(), context.deadLetters.ready(), context.configurations.ready(), context.queue.ready()]);
    checks["storage"] = "ok";
  } catch (e) {
    checks["storage"] = `unreachable (${context.storage.setting}): ${(e as Error).message.split("\n")[0]}`;
  }
  if (context.settings.initialConfiguration !== undefined && checks["storage"] === "ok") {
    checks["initialConfiguration"] = await ensureInitialConfiguration().then(
      () => "ok",
      (e: unknown) => (e as Error).message,
    );
  }
  let degraded = false;
  if (checks["storage"] === "ok") {
    const invalid: string[] = [];
    try {
      for await (const listed of context.configurations.list()) if (!listed.valid) invalid.push(listed.invalid.name);
      checks["configurations"] =
        invalid.length === 0
          ? "ok"
          : `${invalid.length} stored configuration${invalid.length === 1 ? "" : "s"} no longer validate${invalid.length === 1 ? "s" : ""}: ${invalid.slice(0, 20).join(", ")}`;
      degraded = invalid.length > 0;
    } catch (e) {
      checks["configurations"] = `unreadable: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  const failing = Object.entries(checks).filter(([k, c]) => c !== "ok" && !(k === "configurations" && degraded));
  return { ok: failing.length === 0, degraded, checks };
}
