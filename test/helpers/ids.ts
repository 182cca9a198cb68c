import type { IdBook } from "../../src/change/ids.js";

/** An IdBook's (hash, id) pairs, loaded then added. */
export function pairsOf(book: IdBook): [number, string][] {
  const pairs: [number, string][] = [];
  book.forEach((hash, id) => pairs.push([hash, id]));
  return pairs;
}
