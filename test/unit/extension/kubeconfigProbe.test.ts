// The activation-time kubeconfig probe (no Kubernetes client): which files kubectl's rules
// pick and the current context's name, in YAML and JSON kubeconfigs, and why none is usable.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentContextOf, expandPath, probeKubeconfig } from '../../../src/extension/cluster/kubeconfigProbe';

describe('kubeconfig probe', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-probe-'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  }

  it('reads current-context from YAML and JSON kubeconfigs', () => {
    assert.equal(currentContextOf('apiVersion: v1\nkind: Config\ncurrent-context: kind-dev\ncontexts: []\n'), 'kind-dev');
    assert.equal(currentContextOf('current-context: "arn:aws:eks:eu-west-1:1234:cluster/prod" # EKS\n'), 'arn:aws:eks:eu-west-1:1234:cluster/prod');
    assert.equal(currentContextOf('{"kind": "Config", "current-context": "sim", "contexts": []}'), 'sim');
    assert.equal(currentContextOf('current-context: ""\n'), undefined);
    assert.equal(currentContextOf('kind: Config\ncontexts: []\n'), undefined);
    // A context *named* current-context inside a list is not the current one.
    assert.equal(currentContextOf('contexts:\n- name: x\n  current-context-ish: y\n'), undefined);
  });

  it('uses the setting first, then KUBECONFIG (several files, first current-context wins)', async () => {
    const a = write('a.yaml', 'kind: Config\ncontexts: []\n');
    const b = write('b.yaml', 'kind: Config\ncurrent-context: from-b\n');
    const c = write('c.yaml', 'kind: Config\ncurrent-context: from-c\n');
    const viaEnv = await probeKubeconfig({ env: { KUBECONFIG: [a, path.join(dir, 'missing.yaml'), b, c].join(path.delimiter) } });
    assert.deepEqual(viaEnv, { configured: true, context: 'from-b', files: [a, b, c] });
    const viaSetting = await probeKubeconfig({ kubeconfig: c, env: { KUBECONFIG: b } });
    assert.equal(viaSetting.context, 'from-c');
    const chosen = await probeKubeconfig({ kubeconfig: c, context: 'other', env: {} });
    assert.equal(chosen.context, 'other', 'the context setting wins over the current context');
  });

  it('says why nothing is usable: a missing file, no current context', async () => {
    const missing = await probeKubeconfig({ kubeconfig: path.join(dir, 'nope.yaml'), env: {} });
    assert.equal(missing.configured, false);
    assert.match(missing.reason ?? '', /nope\.yaml .*does not exist/);
    const noCurrent = await probeKubeconfig({ kubeconfig: write('none.yaml', 'kind: Config\ncontexts: []\n'), env: {} });
    assert.equal(noCurrent.configured, false);
    assert.match(noCurrent.reason ?? '', /has no current context/);
  });

  it('expands ~ and resolves relative paths against the workspace folder', () => {
    assert.equal(expandPath('~/kube/config'), path.join(os.homedir(), 'kube/config'));
    assert.equal(expandPath('conf/kubeconfig', '/work/ws'), path.resolve('/work/ws', 'conf/kubeconfig'));
    assert.equal(expandPath('/abs/config', '/work/ws'), '/abs/config');
  });
});
