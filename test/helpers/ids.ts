import { ExportEntries } from "../../src/change/entries.js";
import { idHash } from "../../src/change/ids.js";

/** Entries' (hash, id) pairs, in the order held. */
export async function pairsOf(entries: ExportEntries): Promise<[number, string][]> {
  const pairs: [number, string][] = [];
  for await (const [hash, , id] of entries.pairs()) pairs.push([hash, id]);
  return pairs;
}

/** Entries as a stored state holds them: `fingerprints[i]` for `ids[i]`, ids read only when walked. */
export function storedEntries(ids: readonly string[], fingerprints: readonly number[], onWalk?: () => void): ExportEntries {
  return ExportEntries.stored(ids.map(idHash), fingerprints, {
    count: ids.length,
    walk: async function* () {
      onWalk?.();
      yield* ids;
    },
  });
}

/** Version 3's encoding of sorted ids (front coding in two arrays), to write such states in tests. */
export function frontCode(sortedIds: readonly string[]): { shared: number[]; suffixes: string[] } {
  const shared: number[] = [];
  const suffixes: string[] = [];
  let previous = "";
  for (const id of sortedIds) {
    const most = Math.min(previous.length, id.length);
    let k = 0;
    while (k < most && previous.charCodeAt(k) === id.charCodeAt(k)) k++;
    shared.push(k);
    suffixes.push(id.slice(k));
    previous = id;
  }
  return { shared, suffixes };
}
