// `--endpoint port-forward`: Flowbook starts `kubectl port-forward` to KFP's API itself. A
// stand-in kubectl (first on PATH) forwards to the simulated KFP server like kubectl would,
// and records its arguments; a failing one shows how kubectl's reason reaches the user.

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KfpError } from '../../../src/kfp/errors';
import { startPortForward } from '../../../src/kfp/portForward';
import { REPO_ROOT } from '../../support/notebooks';
import { CHURN_FILE, KfpHarness, startKfp } from './support';

/** A kubectl stand-in: `port-forward` listens on a free port, pipes to FAKE_KFP_TARGET, and prints kubectl's line. */
const FAKE_KUBECTL = `#!/usr/bin/env node
const fs = require('fs'), net = require('net');
fs.writeFileSync(process.env.FAKE_KUBECTL_ARGS, JSON.stringify(process.argv.slice(2)));
if (process.env.FAKE_KUBECTL_FAIL) { process.stderr.write(process.env.FAKE_KUBECTL_FAIL + '\\n'); process.exit(1); }
const [host, port] = process.env.FAKE_KFP_TARGET.split(':');
const server = net.createServer((c) => { const u = net.connect(Number(port), host); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
server.listen(0, '127.0.0.1', () => process.stdout.write('Forwarding from 127.0.0.1:' + server.address().port + ' -> 8888\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

describe('KFP through a port-forward Flowbook starts', function () {
  this.timeout(20000);
  let h: KfpHarness;
  let dir: string;
  let env: Record<string, string>;
  beforeEach(async () => {
    h = await startKfp();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-pf-'));
    fs.writeFileSync(path.join(dir, 'kubectl'), FAKE_KUBECTL, { mode: 0o755 });
    env = { PATH: `${dir}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_KUBECTL_ARGS: path.join(dir, 'args.json'), FAKE_KFP_TARGET: h.sim.url.replace('http://', '') };
  });
  afterEach(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('flowbook submit --endpoint port-forward runs kubectl port-forward to svc/ml-pipeline and submits through it', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'flowbook.js'), 'submit', CHURN_FILE, '--target', 'kfp', '--endpoint', 'port-forward', '--kubeconfig', '/tmp/kc-for-test'], { env: { ...process.env, ...env, FLOWBOOK_KFP_ENDPOINT: '', FLOWBOOK_KFP_TOKEN: '' } }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(env.FAKE_KUBECTL_ARGS ?? '', 'utf8')), ['port-forward', '-n', 'kubeflow', 'svc/ml-pipeline', ':8888', '--address', '127.0.0.1', '--kubeconfig', '/tmp/kc-for-test']);
    assert.equal(h.sim.runs.size, 1);
    assert.match(r.stdout.trim(), /^run-/, 'without a UI address the run id is printed');
  });

  it('kubectl\'s own reason reaches the user when the forward fails; a missing kubectl says to install it', async () => {
    await assert.rejects(
      startPortForward({ env: { ...process.env, ...env, FAKE_KUBECTL_FAIL: 'Error from server (NotFound): services "ml-pipeline" not found' } }),
      (e: unknown) => e instanceof KfpError && e.kind === 'unreachable' && /services "ml-pipeline" not found/.test(e.message) && /namespace "kubeflow"/.test(e.message),
    );
    await assert.rejects(startPortForward({ kubectl: path.join(dir, 'no-such-kubectl') }), (e: unknown) => e instanceof KfpError && e.kind === 'config' && /not installed/.test(e.message));
  });
});
