/**
 * `npm run bench`: runs every benchmark module in turn, or only the ones named
 * (`node bench/run.ts sim`). A module exports `run(): Promise<void>` and prints
 * its own table. To add one, add a line to BENCHMARKS.
 */
interface BenchModule {
  run(): Promise<void>;
}

const BENCHMARKS: Record<string, () => Promise<BenchModule>> = {
  sim: () => import("./sim.bench.ts"),
  pool: () => import("./pool.bench.ts"),
  gateway: () => import("./gateway.bench.ts"),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(", ")} (known: ${Object.keys(BENCHMARKS).join(", ")})\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  process.stdout.write(`\n== ${name} ==\n`);
  const started = Date.now();
  await (await BENCHMARKS[name]!()).run();
  process.stdout.write(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
