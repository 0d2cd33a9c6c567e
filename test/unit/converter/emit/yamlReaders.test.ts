// Compiled YAML read back by the readers that matter: Go's (kubectl) and PyYAML must both
// give exactly the Workflow object, for every fixture, every corpus notebook (when
// ../shared is there) and code holding the characters readers disagree on.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileNotebookText } from '../../../../src/converter';
import { toYaml } from '../../../../src/converter/yaml';
import { FIXTURES, SHARED, notebookJson } from '../../../support/notebooks';

/** The Python with PyYAML (Debian's python3-yaml, installed by scripts/setup.sh). */
const PYTHON = '/usr/bin/python3';
const MARK = 'flowbook.test/read-back';

/** Characters some YAML reader takes as a line break, refuses raw, or drops. */
const TRICKY = ['\u2028', '\u2029', '\u0085', '\ufeff', '\x07', '\x1b', '\x7f', '\x9b', '\r', '\ufffe', '\u00a0', '\t'];

interface Document { name: string; yaml: string; expected: unknown }

async function documentFor(name: string, text: string): Promise<Document | undefined> {
  const compiled = await compileNotebookText(text, name);
  if (!compiled.workflow) return undefined;
  return { name, yaml: toYaml(compiled.workflow), expected: JSON.parse(JSON.stringify(compiled.workflow)) };
}

/** Each document as PyYAML reads it, in one python process. */
function readWithPyYaml(docs: Document[]): unknown[] {
  const code = 'import json, sys, yaml\nprint(json.dumps([yaml.safe_load(t) for t in json.load(sys.stdin)]))';
  const r = spawnSync(PYTHON, ['-c', code], { input: JSON.stringify(docs.map((d) => d.yaml)), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `PyYAML: ${r.stderr} (scripts/setup.sh installs python3-yaml)`);
  return JSON.parse(r.stdout) as unknown[];
}

/** The document as kubectl reads it (offline: `annotate --local` decodes the file and prints it back). */
function readWithKubectl(doc: Document, dir: string): unknown {
  const file = path.join(dir, 'doc.yaml');
  fs.writeFileSync(file, doc.yaml);
  const r = spawnSync('kubectl', ['annotate', '--local', '-f', file, '-o', 'json', `${MARK}=1`], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.error, undefined, 'kubectl is missing: scripts/setup.sh installs it (Debian kubernetes-client)');
  assert.equal(r.status, 0, `kubectl read ${doc.name}: ${r.stderr}`);
  const obj = JSON.parse(r.stdout) as { metadata: { annotations?: Record<string, string> } };
  delete obj.metadata.annotations?.[MARK];
  if (obj.metadata.annotations && Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
  return obj;
}

function checkReaders(docs: Document[]): void {
  assert.ok(docs.length > 0);
  const pyyaml = readWithPyYaml(docs);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-yaml-'));
  try {
    docs.forEach((doc, i) => {
      assert.deepEqual(pyyaml[i], doc.expected, `PyYAML reads ${doc.name} differently`);
      assert.deepEqual(readWithKubectl(doc, dir), doc.expected, `kubectl reads ${doc.name} differently`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('compiled YAML read by kubectl and PyYAML', function () {
  this.timeout(120_000);

  it('code with line-break-like and control characters reads back unchanged', async () => {
    const docs: Document[] = [];
    for (const ch of TRICKY) {
      const code = `s = "a${ch}b"  # note${ch}here\nt = 1\n`;
      const text = notebookJson([['step:first', code], ['step:second', `print(s, t)  # ${ch}\n`]], { kubeflow_notebook: { experiment: { name: `e${ch}x` } } });
      const doc = await documentFor(`tricky-${ch.charCodeAt(0).toString(16)}.ipynb`, text);
      assert.ok(doc, `U+${ch.charCodeAt(0).toString(16)} compiles`);
      assert.ok(!doc.yaml.includes('\u2028') && !doc.yaml.includes('\u0085'), 'written escaped');
      docs.push(doc);
    }
    checkReaders(docs);
  });

  it('every fixture notebook reads back unchanged', async () => {
    const dir = path.join(FIXTURES, 'notebooks');
    const docs: Document[] = [];
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.ipynb')).sort()) {
      const doc = await documentFor(f, fs.readFileSync(path.join(dir, f), 'utf8'));
      if (doc) docs.push(doc);
    }
    assert.ok(docs.length >= 4, `only ${docs.length} fixtures compiled`);
    checkReaders(docs);
  });

  const corpus = path.join(SHARED, 'corpus');
  if (!fs.existsSync(corpus)) {
    console.log(`    (corpus round trips not registered: ${corpus} is absent)`);
    return;
  }
  it('every corpus notebook that compiles reads back unchanged', async () => {
    const files = fs.readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ipynb')).sort();
    const docs: Document[] = [];
    for (const f of files) {
      const doc = await documentFor(f, fs.readFileSync(path.join(corpus, f), 'utf8')).catch(() => undefined);
      if (doc) docs.push(doc);
    }
    assert.ok(docs.length >= 10, `only ${docs.length} corpus notebooks compiled`);
    checkReaders(docs);
  });
});
