/**
 * Sends running at once, at most `limit`: a new one waits for room, so that memory stays bounded. A send
 * that throws (its dead letter could not be written) fails the next `start` or `drained`, once, and is
 * never left as an unhandled rejection.
 */
export class InFlight {
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(readonly limit: number) {}

  async start(send: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.limit) await Promise.race(this.#running);
    this.#rethrow();
    const running: Promise<void> = send()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Every send started has ended. */
  async drained(): Promise<void> {
    await Promise.all(this.#running);
    this.#rethrow();
  }

  #rethrow(): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) throw failure.error;
  }
}
