import { parsePointer, readOriginal } from "../../destinations/overflow.js";
import { isNotFound } from "../../shared/azure-errors.js";
import { namingStorage } from "../../hosting/storage.js";
import { contextFor, UsageError, type Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK, writeErr, writeOut } from "../io.js";

export const original: Command = {
  name: "original",
  summary: "print the whole original of a row cut to 32 KB, from its OverflowBlob",
  options: {},
  help: `Usage: defender-export original <OverflowBlob>

Prints the whole original record a Log Analytics row cut to 32 KB points to, as JSON, from the
app's storage account. OverflowBlob is <container>/<blob>#<first byte>-<last byte>: a blob of
originals as JSON lines, and the bytes of one; a pointer written before originals shared blobs,
<container>/<blob>, is the whole blob.

The storage account is the app's own: DEFENDER_EXPORT_STORAGE, else AzureWebJobsStorage, as a
connection string; Azurite's development storage when neither is set.

Example:
  defender-export original "overflow/subassessments/2026-11-22T030405678Z-1a2b3c4d5.jsonl#0000036611-0000073221"`,
  async run(_values, positionals, io) {
    if (positionals.length !== 1) throw new UsageError("original takes one OverflowBlob");
    const pointer = positionals[0]!;
    if (parsePointer(pointer) === undefined) throw new UsageError(`${JSON.stringify(pointer)} is not an OverflowBlob: <container>/<blob>, or <container>/<blob>#<first byte>-<last byte>`);
    const { storage } = contextFor(io);
    try {
      await writeOut(io.stdout, `${await readOriginal(storage.blob, pointer)}\n`);
      return EXIT_OK;
    } catch (e) {
      if (!isNotFound(e)) throw namingStorage(e, storage);
      writeErr(io, `error: ${pointer} is not in the storage account (${storage.description})`);
      return EXIT_FAILURE;
    }
  },
};
