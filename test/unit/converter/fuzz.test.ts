// 10,000 mutated notebooks (random tags, broken sources, deleted keys, odd unicode) through
// the whole compiler: the only exception allowed is InputError (unusable input, exit 2).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Compiler, InputError } from '../../../src/converter';
import { toYaml } from '../../../src/converter/yaml';
import { FIXTURES } from '../../support/notebooks';
import { prng } from '../../support/prng';


const TAGS = ['imports', 'functions', 'pipeline-parameters', 'parameters', 'pipeline-metrics', 'skip', 'step:a', 'step:b', 'step:B', 'step:',
  'block:a', 'block:', 'prev:a', 'prev:b:c', 'prev:zz', 'limit:cpu:1', 'limit:nvidia.com/gpu:1', 'limit:x', 'image:py:3', 'cache:enabled',
  'secret:s:k:E', 'retry:2', 'timeout:5m', 'hide-input', 'stpe:x', 'step:ü', 'step:a b', '', ':', 'prev:', 'annotation:a:b', 'label:k:v'];
const SNIPPETS = ['x = 1\n', 'print(x)\n', '!pip install foo==1\n', '%%bash\necho hi\n', '%matplotlib inline\n', 'def f(:\n', 'match x:\n case 1: pass\n',
  'y = [i for i in x]\n', 'del x\n', 'x.append(y)\n', '"""unterminated\n', '\u0000\u202e\ud83d\ude00 = 3\n', 'lambda: z\n', 'class C(B):\n  pass\n',
  'async def g():\n  await h()\n', '@dec\ndef k(): pass\n', 'a, *b = c\n', 'x: int = 3\n', 'global q\n', '(w := 5)\n', '?help\n', '%unknown_magic\n', 'f"{x!r:>{y}}"\n'];

function mutate(nb: Record<string, unknown>, rand: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const clone = JSON.parse(JSON.stringify(nb)) as Record<string, unknown>;
  const cells = Array.isArray(clone['cells']) ? (clone['cells'] as Record<string, unknown>[]) : [];
  const ops = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < ops; i++) {
    const cell = cells.length > 0 ? pick(cells) : undefined;
    switch (Math.floor(rand() * 12)) {
      case 0: if (cell) cell['metadata'] = { tags: [pick(TAGS), pick(TAGS)] }; break;
      case 1: if (cell) cell['source'] = pick(SNIPPETS) + pick(SNIPPETS); break;
      case 2: if (cell) delete cell[pick(['source', 'metadata', 'cell_type', 'outputs'])]; break;
      case 3: if (cell) cell['source'] = String(cell['source'] ?? '').slice(0, Math.floor(rand() * 20)); break;
      case 4: if (cell) cell['cell_type'] = pick(['code', 'markdown', 'raw', 'heading', 7, null]); break;
      case 5: cells.splice(Math.floor(rand() * (cells.length + 1)), 0, { cell_type: 'code', metadata: { tags: [pick(TAGS)] }, source: pick(SNIPPETS) }); break;
      case 6: if (cells.length > 0) cells.splice(Math.floor(rand() * cells.length), 1); break;
      case 7: if (cell) cell['metadata'] = pick([null, 3, 'x', { tags: 'step:a' }, { tags: [1, null, 'step:a'] }]); break;
      case 8: clone['metadata'] = pick([null, {}, { kubeflow_notebook: pick([null, 1, { volumes: 'x' }, { steps_defaults: [pick(TAGS)] }, { timeout: 'x' }]) }, { flowbook: { dataPassing: pick(['volume', 'x', 3]) } }]); break;
      case 9: if (rand() < 0.1) delete clone[pick(['cells', 'nbformat', 'metadata'])]; break;
      case 10: if (cell) cell['source'] = [pick(SNIPPETS), 5, null]; break;
      case 11: if (cell) cell['source'] = String.fromCodePoint(...Array.from({ length: 8 }, () => Math.floor(rand() * 0x2fff))); break;
    }
  }
  return clone;
}

describe('compiler fuzz', function () {
  this.timeout(600_000);

  it('survives 10,000 mutated notebooks without an unexpected exception', async () => {
    const compiler = await Compiler.create();
    const dir = path.join(FIXTURES, 'notebooks');
    const seeds = fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>);
    const rand = prng(20261122);
    let compiled = 0;
    let rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      const seed = seeds[i % seeds.length] as Record<string, unknown>;
      const text = rand() < 0.02 ? JSON.stringify(mutate(seed, rand)).slice(0, Math.floor(rand() * 200)) : JSON.stringify(mutate(seed, rand));
      try {
        const result = compiler.compileText(text, `fuzz-${i}.ipynb`);
        if (result.workflow) toYaml(result.workflow);
        compiled++;
      } catch (err) {
        if (!(err instanceof InputError)) {
          assert.fail(`iteration ${i}: unexpected ${err instanceof Error ? err.stack : String(err)}\n${text.slice(0, 2000)}`);
        }
        rejected++;
      }
    }
    assert.equal(compiled + rejected, 10_000);
    assert.ok(compiled > 5_000, `most mutated notebooks are still readable (${compiled})`);
  });
});
