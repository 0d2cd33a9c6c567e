// `npm run bench`: runs every benchmark module in this folder, `*.bench.ts` (compiled to
// out/bench/*.bench.js), one after another. A module exports `run(): Promise<void>` and
// prints its own figures as ratios against floors it measures in the same run. Add a
// benchmark by adding a file; `npm run bench -- runner` runs those whose name contains
// `runner`. The exit code is 1 when a benchmark threw.

import * as fs from 'node:fs';
import * as path from 'node:path';

interface BenchModule {
  run?: () => Promise<void>;
}

async function main(filters: string[]): Promise<number> {
  const files = fs.readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`bench: no benchmark matches ${filters.join(', ')} in ${__dirname}\n`);
    return 1;
  }
  let failed = 0;
  for (const file of files) {
    const name = file.replace(/\.bench\.js$/, '');
    process.stdout.write(`\n=== ${name} ===\n`);
    const t0 = performance.now();
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(__dirname, file)) as BenchModule;
      if (typeof mod.run !== 'function') throw new Error(`${file} exports no run() function`);
      await mod.run();
      process.stdout.write(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`bench ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
