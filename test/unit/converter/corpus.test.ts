// Every notebook of ../shared/corpus (real public notebooks, 20 with Kale tags) through the
// whole compiler: none may crash; each produced Workflow validates against Argo's schema
// with unknown keys rejected, and its step scripts compile with python3. When ../shared is
// absent (a bare clone) these tests are not registered and a message says so; the fixtures
// in test/fixtures cover the same behaviours.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Compiler } from '../../../src/converter';
import { toYaml } from '../../../src/converter/yaml';
import { validateWorkflow } from '../../support/argoSchema';
import { FIXTURES, SHARED } from '../../support/notebooks';

const corpus = path.join(SHARED, 'corpus');

function notebooksIn(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f));
}

/** Writes each step script to a temp dir and byte-compiles them all in one python3 process. */
function pyCompile(scripts: Map<string, string>): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-pyc-'));
  try {
    const files: string[] = [];
    let i = 0;
    for (const source of scripts.values()) {
      const f = path.join(dir, `s${i++}.py`);
      fs.writeFileSync(f, source);
      files.push(f);
    }
    const code = 'import py_compile, sys\nbad = []\nfor f in sys.argv[1:]:\n    try:\n        py_compile.compile(f, doraise=True)\n    except py_compile.PyCompileError as e:\n        bad.append(str(e))\nprint("\\n".join(bad))';
    const r = spawnSync('python3', ['-c', code, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim() ? r.stdout.trim().split('\n') : [];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function scriptsOf(workflow: unknown): Map<string, string> {
  const wf = workflow as { spec: { templates: { name: string; script?: { source: string } }[] } };
  return new Map(wf.spec.templates.filter((t) => t.script).map((t) => [t.name, t.script?.source ?? '']));
}

function checkNotebooks(files: string[], compiler: () => Compiler, mustCompile: boolean) {
  for (const file of files) {
    it(path.basename(file), () => {
      const result = compiler().compileText(fs.readFileSync(file, 'utf8'), file);
      for (const d of result.diagnostics) {
        assert.ok(d.cell === undefined || (d.cell >= 0 && Number.isInteger(d.cell)), `diagnostic with a bad cell: ${JSON.stringify(d)}`);
      }
      if (mustCompile) assert.ok(result.workflow, `compiles without errors: ${JSON.stringify(result.diagnostics.filter((d) => d.severity === 'error'))}`);
      if (!result.workflow) return; // corpus notebooks may have errors; crashes are not allowed
      assert.deepEqual(validateWorkflow(result.workflow), [], 'the Workflow validates against the Argo schema');
      toYaml(result.workflow);
      assert.deepEqual(pyCompile(scriptsOf(result.workflow)), [], 'every step script compiles');
    });
  }
}

describe('compiling real notebooks', function () {
  this.timeout(120_000);
  let compiler: Compiler;
  before(async () => { compiler = await Compiler.create(); });

  describe('fixtures', () => checkNotebooks(notebooksIn(path.join(FIXTURES, 'notebooks')).filter((f) => !f.endsWith('errors.ipynb')), () => compiler, true));

  if (fs.existsSync(corpus)) {
    describe('../shared/corpus', () => checkNotebooks(notebooksIn(corpus), () => compiler, false));
  } else {
    console.log(`  (../shared/corpus is absent at ${corpus}: corpus notebooks not compiled; the fixtures above still are)`);
  }
});
