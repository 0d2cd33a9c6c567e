// The `flowbook` command as a user runs it: a real child process of bin/flowbook.js.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FIXTURES, REPO_ROOT } from '../../support/notebooks';

const BIN = path.join(REPO_ROOT, 'bin', 'flowbook.js');
const nb = (name: string) => path.join(FIXTURES, 'notebooks', name);

function flowbook(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('flowbook CLI', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-cli-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--help lists the commands and exits 0', () => {
    const r = flowbook('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /compile/);
    assert.match(r.stdout, /inspect/);
  });

  it('compile prints a Workflow to stdout', () => {
    const r = flowbook('compile', nb('basic.ipynb'));
    assert.equal(r.code, 0, r.stderr);
    const wf = parseYaml(r.stdout) as { apiVersion: string; kind: string; metadata: { generateName: string } };
    assert.equal(wf.apiVersion, 'argoproj.io/v1alpha1');
    assert.equal(wf.kind, 'Workflow');
    assert.equal(wf.metadata.generateName, 'basic-');
  });

  it('compile -o writes the file, and the same notebook gives byte-identical YAML', () => {
    const a = path.join(tmp, 'a.yaml');
    const b = path.join(tmp, 'b.yaml');
    assert.equal(flowbook('compile', nb('basic.ipynb'), '-o', a).code, 0);
    assert.equal(flowbook('compile', nb('basic.ipynb'), '-o', b).code, 0);
    assert.equal(fs.readFileSync(a, 'utf8'), fs.readFileSync(b, 'utf8'));
  });

  it('compile with errors prints NOTEBOOK:cell N:LINE diagnostics, exits 1 and writes nothing', () => {
    const out = path.join(tmp, 'out.yaml');
    const r = flowbook('compile', nb('errors.ipynb'), '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /errors\.ipynb:cell 3:1: error FB300 step "first" uses "undefined_thing"/);
    assert.match(r.stderr, /nothing was compiled/);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.readdirSync(tmp).length, 0, 'no temp file is left behind');
  });

  it('unusable input exits 2 with one clear line and no stack trace', () => {
    const broken = path.join(tmp, 'broken.ipynb');
    fs.writeFileSync(broken, '{"cells": [');
    const v3 = path.join(tmp, 'v3.ipynb');
    fs.writeFileSync(v3, JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }));
    for (const [file, pattern] of [[broken, /error FB001 the file is not valid JSON/], [v3, /error FB002 this is an nbformat 3 notebook/], [path.join(tmp, 'missing.ipynb'), /error FB000 cannot read the notebook: no such file/]] as const) {
      const r = flowbook('compile', file);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('an unknown option is a usage error (exit 2)', () => {
    assert.equal(flowbook('compile', nb('basic.ipynb'), '--frobnicate').code, 2);
  });

  it('inspect --json prints the pipeline in the documented shape', () => {
    const r = flowbook('inspect', nb('basic.ipynb'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as { name: string; parameters: unknown[]; steps: { name: string; cells: number[]; after: string[]; inputs: { name: string; from: string }[]; outputs: string[]; parameters: string[] }[]; metrics: unknown[]; requirements: unknown[]; diagnostics: unknown[] };
    assert.equal(p.name, 'basic');
    // 0-based indices for tools, with the 1-based numbers people see beside them.
    assert.deepEqual(p.parameters[0], { name: 'factor', type: 'int', default: 2, cell: 3, cellNumber: 4 });
    assert.deepEqual((p.steps.find((s) => s.name === 'report') as unknown as { cellNumbers: number[] }).cellNumbers, [9]);
    const report = p.steps.find((s) => s.name === 'report');
    assert.deepEqual(report?.after, ['double', 'stats']);
    assert.deepEqual(report?.inputs, [{ name: 'summarize', from: 'stats' }, { name: 'doubled', from: 'double' }, { name: 'count', from: 'stats' }]);
    assert.deepEqual(p.metrics, [{ name: 'score', step: 'report' }, { name: 'count', step: 'stats' }]);
    assert.ok(Array.isArray(p.requirements) && Array.isArray(p.diagnostics));
  });

  it('inspect prints a readable tree with the reason for each edge', () => {
    const r = flowbook('inspect', nb('basic.ipynb'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /report {2}\(cell 9\)/);
    assert.match(r.stdout, /after double: uses doubled/);
    assert.match(r.stdout, /after load: uses raw; prev: tag in cell 7/);
  });
});
