// SIMULATED CLUSTER (tests only): starts a simulated cluster with a real kubeconfig file in
// a temp folder, and builds real ClusterConnection/ClusterClient objects on it, so tests
// go through @kubernetes/client-node exactly as users do. Sleeps are recorded, and made
// short, so fault tests assert on Retry-After without waiting for it.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterClient, ClientOptions } from '../../src/cluster/client';
import { ClusterConnection, ConnectOptions } from '../../src/cluster/connection';
import type { Workflow } from '../../src/cluster/types';
import { SimOptions, SimulatedCluster } from './simulatedCluster';

export interface SimHarness {
  sim: SimulatedCluster;
  dir: string;
  kubeconfig: string;
  /** Every delay the clients were asked to sleep, in ms. */
  sleeps: number[];
  connection(options?: ConnectOptions): ClusterConnection;
  client(options?: ConnectOptions & ClientOptions): ClusterClient;
  close(): Promise<void>;
}

export async function startSim(options: SimOptions & { namespace?: string } = {}): Promise<SimHarness> {
  const sim = await SimulatedCluster.start({ namespaces: ['default', 'team-a'], ...options });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-sim-'));
  const kubeconfig = sim.writeKubeconfig(dir, { namespace: options.namespace ?? 'team-a' });
  const sleeps: number[] = [];
  const h: SimHarness = {
    sim,
    dir,
    kubeconfig,
    sleeps,
    connection: (o = {}) => ClusterConnection.open({ kubeconfig, env: {}, ...o }),
    client: (o = {}) => {
      const { sleep, maxRetries, backoffMs, maxRetryAfterMs, ...connect } = o;
      return new ClusterClient(h.connection(connect), {
        // Record the delay asked for, but wait only briefly: tests assert on the value.
        sleep: sleep ?? ((ms, signal) => {
          sleeps.push(ms);
          return new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              clearTimeout(t);
              reject(new Error('aborted'));
            };
            const t = setTimeout(() => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            }, Math.min(ms, 20));
            signal?.addEventListener('abort', onAbort, { once: true });
          });
        }),
        ...(maxRetries !== undefined ? { maxRetries } : {}),
        backoffMs: backoffMs ?? 10,
        ...(maxRetryAfterMs !== undefined ? { maxRetryAfterMs } : {}),
      });
    },
    close: async () => {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A small Flowbook-style workflow: a DAG of script steps with the step/cells annotations. */
export function pipelineWorkflow(
  name = 'demo',
  options: {
    steps?: { name: string; after?: string[]; source?: string; cells?: number[]; retries?: number }[];
    parameters?: Record<string, string>;
    podGC?: string;
    artifacts?: boolean;
  } = {},
): Workflow {
  const steps = options.steps ?? [
    { name: 'load', cells: [1, 2] },
    { name: 'train', after: ['load'], cells: [3] },
    { name: 'evaluate', after: ['train'], cells: [4, 5] },
  ];
  const template = (s: { name: string; source?: string; cells?: number[]; retries?: number }) => ({
    name: s.name.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
    metadata: { annotations: { 'flowbook.dev/step': s.name, 'flowbook.dev/cells': (s.cells ?? []).join(',') } },
    script: { image: 'python:3.12-slim', command: ['python'], source: s.source ?? `print("${s.name}")` },
    ...(s.retries ? { retryStrategy: { limit: String(s.retries) } } : {}),
    ...(options.artifacts ? { outputs: { artifacts: [{ name: 'data', path: `/flowbook/data/${s.name}` }] } } : {}),
  });
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: `${name}-`, labels: { 'flowbook.dev/pipeline': name } },
    spec: {
      entrypoint: 'main',
      ...(options.parameters ? { arguments: { parameters: Object.entries(options.parameters).map(([k, v]) => ({ name: k, value: v })) } } : {}),
      ...(options.podGC ? { podGC: { strategy: options.podGC } } : {}),
      templates: [
        { name: 'main', dag: { tasks: steps.map((s) => ({ name: s.name.toLowerCase().replace(/[^a-z0-9-]/g, '-'), template: s.name.toLowerCase().replace(/[^a-z0-9-]/g, '-'), ...(s.after ? { dependencies: s.after.map((a) => a.toLowerCase()) } : {}) })) } },
        ...steps.map(template),
      ],
    },
  };
}

/** Resolves when `check` returns a value (polling), or rejects after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
