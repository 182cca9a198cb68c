/**
 * `make` run once and its promise shared; a rejection is not kept, so that the next call tries again (a
 * container that could not be made at a storage blip is made at the next call, not never).
 */
export function onceUntilRejected<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((e: unknown) => {
      made = undefined;
      throw e;
    }));
}
