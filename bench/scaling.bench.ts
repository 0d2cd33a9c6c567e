// How `flowbook inspect` and `flowbook compile` grow with the number of steps: a chain of
// N one-cell steps (each reads the one before) at N and 4N. Linear work gives a ratio of at
// most 4x (less, as process start-up is shared); the quadratic code this guards against
// (issue 13: 5,000 steps 5 s, 20,000 steps 76 s) gave about 15x.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'bin', 'flowbook.js');

/** A notebook of `steps` one-cell steps, each using the value of the step before. */
function chainNotebook(steps: number): string {
  const cells = Array.from({ length: steps }, (_, i) => ({
    cell_type: 'code', metadata: { tags: [`step:s${i}`] }, outputs: [], execution_count: null,
    source: i === 0 ? 'x0 = 0\n' : `x${i} = x${i - 1} + 1\n`,
  }));
  return JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
}

function timeCli(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`flowbook ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-scaling-'));
  try {
    const small = 1_250;
    const large = small * 4;
    for (const n of [small, large]) fs.writeFileSync(path.join(dir, `chain-${n}.ipynb`), chainNotebook(n));
    for (const command of ['inspect', 'compile']) {
      const t = [small, large].map((n) => timeCli([command, path.join(dir, `chain-${n}.ipynb`), ...(command === 'compile' ? ['-o', path.join(dir, 'out.yaml')] : [])]));
      const [a = NaN, b = NaN] = t;
      console.log(`flowbook ${command}: ${small} steps ${a.toFixed(0)} ms, ${large} steps ${b.toFixed(0)} ms: ${(b / a).toFixed(2)}x for 4x the steps (linear: <= 4x)`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void run();
