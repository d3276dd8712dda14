/**
 * `npm run bench [name...]`: each benchmark measures our path and a baseline side by side in one run and
 * prints ratios. Never part of `npm test`; never a timed assertion.
 */
import { BENCHES } from "./registry";

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`Unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  await (await bench()).run();
}
process.exit(0);
