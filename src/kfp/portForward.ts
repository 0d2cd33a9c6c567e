// Reaching the KFP API through a port-forward that Flowbook starts itself: `kubectl
// port-forward -n kubeflow svc/ml-pipeline :8888` with the user's kubeconfig, on a free local
// port that kubectl picks and prints. The forward lives as long as the returned handle; its
// stderr is kept only to explain a failure (kubectl never prints credentials there).

import { spawn } from 'node:child_process';
import { KfpError } from './errors';

export interface PortForwardOptions {
  /** The kubectl to run (default `kubectl`). */
  kubectl?: string;
  kubeconfig?: string;
  context?: string;
  /** Where KFP's API service is (default `kubeflow`). */
  namespace?: string;
  service?: string;
  remotePort?: number;
  /** How long to wait for kubectl to say it forwards (default 20 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface PortForward {
  /** `http://127.0.0.1:PORT`, the API's address on this machine. */
  url: string;
  dispose(): void;
}

/** Starts the port-forward and resolves once kubectl forwards. Throws `KfpError` (`unreachable` or `config`) with kubectl's reason. */
export function startPortForward(options: PortForwardOptions = {}): Promise<PortForward> {
  const namespace = options.namespace ?? 'kubeflow';
  const service = options.service ?? 'ml-pipeline';
  const remotePort = options.remotePort ?? 8888;
  const args = ['port-forward', '-n', namespace, `svc/${service}`, `:${remotePort}`, '--address', '127.0.0.1'];
  if (options.kubeconfig) args.push('--kubeconfig', options.kubeconfig);
  if (options.context) args.push('--context', options.context);
  const kubectl = options.kubectl ?? 'kubectl';
  const what = `kubectl port-forward -n ${namespace} svc/${service} :${remotePort}`;
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let out = '';
    let err = '';
    let settled = false;
    const fail = (e: KfpError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      reject(e);
    };
    const timer = setTimeout(() => fail(new KfpError('unreachable', `${what} did not start forwarding within ${Math.round((options.timeoutMs ?? 20_000) / 1000)} s.${err.trim() ? ` kubectl said: ${err.trim().split('\n').slice(-1)[0] ?? ''}` : ''}`)), options.timeoutMs ?? 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${m[1] ?? ''}`, dispose: () => child.kill() });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      fail(new KfpError('config', e.code === 'ENOENT' ? `Cannot start a port-forward: ${kubectl} is not installed or not on PATH. Install kubectl, or set flowbook.kfp.endpoint to the Kubeflow address.` : `Cannot start ${what}: ${e.message}`));
    });
    child.on('exit', (code) => {
      fail(new KfpError('unreachable', `${what} stopped (exit code ${String(code)})${err.trim() ? `: ${err.trim().split('\n').slice(-1)[0] ?? ''}` : ''}. Check that Kubeflow Pipelines runs in namespace "${namespace}" and that your kubeconfig may port-forward there.`));
    });
  });
}
