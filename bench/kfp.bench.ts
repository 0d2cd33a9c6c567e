// Kubeflow Pipelines target benchmark (issue 12): compiling the generated 2,000-cell
// notebook (200 steps) for KFP against compiling it for Argo, in the same run (target:
// KFP <= 1.2x Argo). Two views: the whole `flowbook compile` command (what a user waits
// for), and the emit + serialise phases alone on the analysed pipeline (what the target
// itself adds; the analysis is shared). Runs alternate between the targets so machine load
// falls on both alike.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Compiler, parseNotebook } from '../src/converter';
import { compileKfp, emitWorkflow, kfpYaml } from '../src/converter/emit';
import { toYaml } from '../src/converter/yaml';
import { generateNotebook } from './compile.bench';

const CLI = path.join(path.resolve(__dirname, '..', '..'), 'bin', 'flowbook.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function timed(f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function line(label: string, argo: number, kfp: number): void {
  console.log(`  ${label.padEnd(34)} argo ${argo.toFixed(1)} ms, kfp ${kfp.toFixed(1)} ms: kfp is ${(kfp / argo).toFixed(2)}x argo  (target <= 1.2x)`);
}

export async function run(): Promise<void> {
  console.log('== KFP compile against Argo compile ==');
  const file = path.join(os.tmpdir(), 'flowbook-bench-kfp-2000.ipynb');
  const text = generateNotebook(200, 10);
  fs.writeFileSync(file, text);
  console.log('generated notebook, 2,002 cells, 12,000 lines, 200 steps');

  const out = path.join(os.tmpdir(), 'flowbook-bench-kfp.yaml');
  const cli = { argo: [] as number[], kfp: [] as number[] };
  for (let i = 0; i < 5; i++) {
    for (const target of ['argo', 'kfp'] as const) {
      cli[target].push(timed(() => {
        const r = spawnSync(process.execPath, [CLI, 'compile', file, '--target', target, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (r.status !== 0) throw new Error(`flowbook compile --target ${target} failed: ${r.stderr.toString()}`);
      }));
    }
  }
  line('flowbook compile (CLI, median of 5)', median(cli.argo), median(cli.kfp));

  const compiler = await Compiler.create();
  const { notebook, diagnostics } = parseNotebook(text, file);
  const pipeline = compiler.analyze(notebook, diagnostics);
  const emit = { argo: [] as number[], kfp: [] as number[] };
  const bytes = { argo: 0, kfp: 0 };
  for (let i = 0; i < 21; i++) {
    emit.argo.push(timed(() => { bytes.argo = toYaml(emitWorkflow(pipeline)).length; }));
    emit.kfp.push(timed(() => { bytes.kfp = kfpYaml(compileKfp(pipeline), file, toYaml).length; }));
  }
  line('emit + YAML (in process, median of 21)', median(emit.argo), median(emit.kfp));
  console.log(`  output size: argo ${(bytes.argo / 1024).toFixed(0)} KiB, kfp ${(bytes.kfp / 1024).toFixed(0)} KiB`);
}
