// Golden files: each case's Workflow YAML and step scripts, compared byte for byte with
// test/fixtures/golden/<case>/. Cases are the fixture notebooks compiled by the whole
// compiler, plus one hand-built pipeline that sets every step option. After an intended
// change, rewrite them with
//   UPDATE_GOLDEN=1 npx mocha out/test/unit/converter/emit/golden.test.js
// and review the diff. Every golden workflow is also validated.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileNotebookText } from '../../../../src/converter';
import { emitWorkflow, stepScript, type EmitOptions } from '../../../../src/converter/emit';
import type { Pipeline } from '../../../../src/converter/ir';
import { toYaml } from '../../../../src/converter/yaml';
import { validateWorkflow } from '../../../support/argoSchema';
import { FIXTURES } from '../../../support/notebooks';
import { optionsPipeline } from './samples';

const GOLDEN = path.join(FIXTURES, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface GoldenCase {
  name: string;
  pipeline: () => Promise<Pipeline>;
  options?: EmitOptions;
}

/** A fixture notebook through the front end; it must compile without errors. */
async function notebook(stem: string): Promise<Pipeline> {
  const relative = `test/fixtures/notebooks/${stem}.ipynb`;
  const result = await compileNotebookText(fs.readFileSync(path.join(FIXTURES, 'notebooks', `${stem}.ipynb`), 'utf8'), relative);
  assert.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), [], `${relative} compiles without errors`);
  return result.pipeline;
}

const CASES: GoldenCase[] = [
  ...['basic', 'kale-legacy', 'magics', 'no-tags', 'marshalling'].map((stem) => ({ name: `notebook-${stem}`, pipeline: () => notebook(stem) })),
  { name: 'notebook-marshalling-artifacts', pipeline: () => notebook('marshalling'), options: { dataPassing: 'artifacts' } },
  {
    name: 'options',
    pipeline: async () => optionsPipeline(),
    options: { stepImages: { prepare: 'registry.example.com/flowbook/prepare@sha256:0123' } },
  },
];

/** The files a case produces: the workflow and one script per step, by file name. */
async function render(c: GoldenCase): Promise<Map<string, string>> {
  const pipeline = await c.pipeline();
  const workflow = emitWorkflow(pipeline, c.options);
  assert.deepEqual(validateWorkflow(workflow), [], 'the workflow validates');
  const files = new Map<string, string>([['workflow.yaml', toYaml(workflow)]]);
  for (const step of pipeline.steps) files.set(`${step.templateName}.py`, stepScript(pipeline, step, c.options));
  return files;
}

function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

describe('golden files (test/fixtures/golden)', function () {
  this.timeout(60_000);
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = path.join(GOLDEN, c.name);
      const files = await render(c);
      if (UPDATE) {
        for (const old of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (!files.has(old)) fs.rmSync(path.join(dir, old));
        for (const [name, text] of files) writeAtomically(path.join(dir, name), text);
      }
      assert.ok(fs.existsSync(dir), `${dir} is missing: run with UPDATE_GOLDEN=1 to create it`);
      assert.deepEqual(fs.readdirSync(dir).sort(), [...files.keys()].sort(), `the files of ${dir} (UPDATE_GOLDEN=1 rewrites them)`);
      for (const [name, text] of files) {
        assert.equal(text, fs.readFileSync(path.join(dir, name), 'utf8'), `${c.name}/${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`);
      }
      assert.deepEqual(await render(c), files, 'a second run gives the same bytes');
    });
  }
});
