import { createGunzip } from "node:zlib";

/** Reads a gzipped buffer a piece at a time, so that only what is asked for is decompressed and held. */
export class GunzipReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;

  constructor(buffer: Buffer) {
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    gunzip.end(buffer);
    this.#iterator = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    this.#pending.push(next.value);
    this.#pendingBytes += next.value.length;
    return true;
  }

  /** The text up to the first line break (within the first 64 KB), or undefined if there is none. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const joined = Buffer.concat(this.#pending);
      const end = joined.indexOf(10);
      if (end >= 0) {
        this.#pending = [joined.subarray(end + 1)];
        this.#pendingBytes = joined.length - end - 1;
        return joined.subarray(0, end).toString("utf8");
      }
      if (this.#pendingBytes > 64 * 1024 || !(await this.#more())) return undefined;
    }
  }

  /** Everything left, as text (an older state: one JSON document). */
  async text(): Promise<string> {
    while (await this.#more());
    return Buffer.concat(this.#pending).toString("utf8");
  }

  async bytes(n: number): Promise<Buffer | undefined> {
    while (this.#pendingBytes < n) if (!(await this.#more())) return undefined;
    const joined = Buffer.concat(this.#pending);
    this.#pending = [joined.subarray(n)];
    this.#pendingBytes = joined.length - n;
    return joined.subarray(0, n);
  }

  async chunk(): Promise<Buffer | undefined> {
    if (this.#pendingBytes === 0 && !(await this.#more())) return undefined;
    const joined = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return joined;
  }

  close(): void {
    void this.#iterator.return?.();
  }
}
