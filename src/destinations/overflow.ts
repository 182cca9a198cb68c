import { createHash } from "node:crypto";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { recordUtf8, type OutgoingRecord } from "../records/record.js";
import { onceUntilRejected } from "../shared/once.js";

/** A blob of originals is written once it holds this many bytes (or when a row pointing into it is sent). */
export const OVERFLOW_BLOB_BYTES = 4 * 1024 * 1024;

// Byte offsets are written with this many digits, so that a pointer's length does not depend on where its
// line falls: the cut reserves the pointer's length, and the same record must be cut the same way.
const OFFSET_DIGITS = 10;

/**
 * The whole originals of cut rows, as JSON lines, many to a blob (`<event source>/<exported at>-<random>.jsonl`
 * in the overflow container). A row's OverflowBlob is `<container>/<blob>#<first byte>-<last byte>`: the
 * blob and the byte range of the original's line (an HTTP Range, both ends included, zero-padded). A blob is
 * written before any row that points into it is sent (`written`), so that no pointer sent points to nothing.
 */
export class OverflowOriginals {
  readonly #ready: () => Promise<unknown>;
  readonly #open = new Map<string, OpenBlob>();

  /** `failed` hears of a blob that could not be written (its rows are sent all the same, and say what was cut). */
  constructor(
    readonly container: ContainerClient,
    private readonly failed: (blob: string, error: unknown) => void,
  ) {
    // Once per sink, not per blob.
    this.#ready = onceUntilRejected(() => container.createIfNotExists());
  }

  /**
   * Where `record`'s original will be, without keeping it yet: `keep` keeps it (a row that could not be cut
   * keeps nothing). Nothing may be reserved or kept in between.
   */
  reserve(input: OutgoingRecord): Reservation {
    const source = input.eventSource.toLowerCase();
    let blob = this.#open.get(source);
    if (blob === undefined || blob.sealed || blob.bytes === 0) {
      blob = new OpenBlob(originalsBlobName(input));
      this.#open.set(source, blob);
    }
    const line = recordUtf8(input);
    const start = blob.bytes;
    const end = start + line.length - 1;
    const open = blob;
    return {
      pointer: overflowPointer(this.container.containerName, open.name, start, end),
      keep: () => {
        open.lines.push(line, NEWLINE);
        open.bytes = end + 2;
        return open;
      },
    };
  }

  /** Closes a blob for writing and writes it, once; later originals go to a new blob. Never rejects. */
  written(blob: OpenBlob): Promise<void> {
    if (blob.upload === undefined) {
      blob.sealed = true;
      const body = Buffer.concat(blob.lines);
      blob.lines = [];
      blob.upload = this.#ready()
        .then(async () => {
          await this.container.getBlockBlobClient(blob.name).upload(body, body.length, { blobHTTPHeaders: { blobContentType: "application/x-ndjson" } });
        })
        .catch((e: unknown) => this.failed(`${this.container.containerName}/${blob.name}`, e));
    }
    return blob.upload;
  }

  /** Whether a blob has grown enough to be written now. */
  full(blob: OpenBlob): boolean {
    return blob.bytes >= OVERFLOW_BLOB_BYTES;
  }
}

export interface Reservation {
  pointer: string;
  keep(): OpenBlob;
}

/** A blob of originals being filled. */
export class OpenBlob {
  lines: Buffer[] = [];
  bytes = 0;
  sealed = false;
  upload: Promise<void> | undefined;
  constructor(readonly name: string) {}
}

const NEWLINE = Buffer.from("\n");
const pad = (n: number) => String(n).padStart(OFFSET_DIGITS, "0");

/**
 * A blob of originals is named by its first: its event source, when it was exported and a hash of its id,
 * so that a re-export never overwrites one (the name is as long as a pointer's old per-record blob name).
 */
function originalsBlobName(first: OutgoingRecord): string {
  const digest = createHash("sha256").update(first.id).digest("hex").slice(0, 9);
  return `${first.eventSource.toLowerCase()}/${first.exportedAt.replace(/[:.]/g, "")}-${digest}.jsonl`;
}

function overflowPointer(container: string, blob: string, start: number, end: number): string {
  return `${container}/${blob}#${pad(start)}-${pad(end)}`;
}

/** The pointer a record's original would get first in a blob of its own (previews: nothing is kept). */
export function previewPointer(container: string, input: OutgoingRecord): string {
  return overflowPointer(container, originalsBlobName(input), 0, Buffer.byteLength(JSON.stringify(input.record), "utf8") - 1);
}

/** A pointer read: the container, the blob, and the byte range when the blob holds many originals. */
export function parsePointer(pointer: string): { container: string; blob: string; range?: { offset: number; count: number } } | undefined {
  const match = /^([a-z0-9-]{3,63})\/([^#]+?)(?:#(\d+)-(\d+))?$/.exec(pointer);
  if (match === null) return undefined;
  const [, container, blob, first, last] = match;
  if (first === undefined || last === undefined) return { container: container!, blob: blob! };
  const offset = Number(first);
  const count = Number(last) - offset + 1;
  return count > 0 ? { container: container!, blob: blob!, range: { offset, count } } : undefined;
}

/**
 * The original a cut row's OverflowBlob points to, as JSON text: the byte range of a blob of originals, or
 * (pointers written before originals shared blobs) the whole blob.
 */
export async function readOriginal(service: BlobServiceClient, pointer: string): Promise<string> {
  const parsed = parsePointer(pointer);
  if (parsed === undefined) throw new Error(`${JSON.stringify(pointer)} is not an OverflowBlob pointer: <container>/<blob>, or <container>/<blob>#<first byte>-<last byte>`);
  const blob = service.getContainerClient(parsed.container).getBlobClient(parsed.blob);
  const buffer = parsed.range === undefined ? await blob.downloadToBuffer() : await blob.downloadToBuffer(parsed.range.offset, parsed.range.count);
  return buffer.toString("utf8");
}
