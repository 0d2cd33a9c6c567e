// Shared by the KFP tests: the simulated KFP server (test/sim/kfpServer.ts) and a real
// KfpClient on it, with retry waits recorded and made short.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { KfpClient, KfpClientOptions } from '../../../src/kfp/client';
import { KfpSettings, resolveEndpoint } from '../../../src/kfp/endpoint';
import { CompiledPackage, readPackage } from '../../../src/kfp/submit';
import { KfpSimOptions, SimulatedKfp } from '../../sim/kfpServer';
import { FIXTURES } from '../../support/notebooks';

export const CHURN_FILE = path.join(FIXTURES, 'kfp', 'churn.yaml');

export function churn(edit: (text: string) => string = (t) => t): CompiledPackage {
  return readPackage(edit(fs.readFileSync(CHURN_FILE, 'utf8')), CHURN_FILE);
}

export interface KfpHarness {
  sim: SimulatedKfp;
  sleeps: number[];
  client(settings?: KfpSettings, options?: KfpClientOptions): KfpClient;
  close(): Promise<void>;
}

export async function startKfp(options: KfpSimOptions = {}): Promise<KfpHarness> {
  const sim = await SimulatedKfp.start(options);
  const sleeps: number[] = [];
  return {
    sim,
    sleeps,
    client: (settings = {}, clientOptions = {}) =>
      new KfpClient(resolveEndpoint({ endpoint: sim.url + (options.prefix ?? ''), ...settings }, { env: {} }), {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
        ...clientOptions,
      }),
    close: () => sim.stop(),
  };
}
