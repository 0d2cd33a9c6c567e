// KFP submit benchmark, against the SIMULATED KFP API server (test/sim/kfpServer.ts) through
// Flowbook's real client over HTTP. Figures are ratios against a floor measured in the same run:
//   - submit with a version upload (look up the pipeline, upload a new version, look up the
//     experiment, look before creating the run, create it) against one bare run creation
//     (a single POST /runs with the same body);
//   - a repeated submit of the same file (the version is found, not uploaded) against the same floor.
// Runs under `npm run bench` (bench/run.ts) or alone: `node out/bench/kfpSubmit.bench.js`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { KfpClient } from '../src/kfp/client';
import { resolveEndpoint } from '../src/kfp/endpoint';
import { readPackage, submitToKfp } from '../src/kfp/submit';
import { SimulatedKfp } from '../test/sim/kfpServer';

const ROUNDS = 40;

async function best(times: number, fn: (i: number) => Promise<void>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn(i);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

export async function run(): Promise<void> {
  const sim = await SimulatedKfp.start();
  try {
    const client = new KfpClient(resolveEndpoint({ endpoint: sim.url }, { env: {} }));
    const text = fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'kfp', 'churn.yaml'), 'utf8');
    // Warm up, and make the pipeline and experiment that the bare creation uses.
    const first = await submitToKfp(client, readPackage(text));
    const body = {
      display_name: 'bare',
      experiment_id: first.experiment?.experiment_id ?? '',
      pipeline_version_reference: { pipeline_id: first.pipeline.pipeline_id, pipeline_version_id: first.version.pipeline_version_id },
      runtime_config: { parameters: { epochs: 3 } },
    };
    const bare = await best(ROUNDS, async () => {
      await client.createRun(body);
    });
    // Each round changes the file, so each submit uploads a new version.
    const upload = await best(ROUNDS, async (i) => {
      await submitToKfp(client, readPackage(`${text}\n# round ${i}\n`), { parameters: { epochs: '3' } });
    });
    const repeat = await best(ROUNDS, async () => {
      await submitToKfp(client, readPackage(text), { parameters: { epochs: '3' } });
    });
    const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
    process.stdout.write(`bare run creation (floor):      ${fmt(bare)}\n`);
    process.stdout.write(`submit with version upload:     ${fmt(upload)}  ${(upload / bare).toFixed(2)}x the floor (${sim.count({ operation: 'UploadPipelineVersion' })} uploads in all)\n`);
    process.stdout.write(`submit, version already there:  ${fmt(repeat)}  ${(repeat / bare).toFixed(2)}x the floor\n`);
  } finally {
    await sim.stop();
  }
}

if (require.main === module) {
  run().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
