import { publish, type Figure } from "./figures.js";
import * as delivery from "./delivery.js";
import * as engine from "./engine.js";
import * as read from "./read.js";
import * as rules from "./rules.js";

// One CPU-bound figure at a time: nothing else in this process competes with what is measured.
const BENCHES: Record<string, { run: () => Figure[] | Promise<Figure[]> }> = { rules, read, delivery, engine };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(", ")}; expected ${Object.keys(BENCHES).join(", ")}\n`);
  process.exit(2);
}
for (const [name, bench] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  publish(await bench.run());
}
