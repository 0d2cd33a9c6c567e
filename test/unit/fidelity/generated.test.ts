// The differential suite: random, valid Kale-tagged notebooks from a fixed seed range
// (test/fidelity/generator.ts), each run straight through and as a pipeline. Every one must
// reproduce exactly or end in a compile-time diagnostic: never silently different, never a
// failed step. `npm run fidelity` runs a larger range and prints the rates.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { notebookJson } from '../../support/notebooks';
import { FEATURES, generateNotebook } from '../../fidelity/generator';
import { PYTHON, judge } from '../../fidelity/judge';

/** Runs many notebooks' cells (all but skip) in one Python, each in a fresh namespace; returns the failures. */
function runStraightThrough(notebooks: { seed: number; cells: string[] }[], dir: string): string[] {
  const input = path.join(dir, 'notebooks.json');
  fs.writeFileSync(input, JSON.stringify(notebooks));
  const script = [
    'import __future__, json, sys, types',
    'flags_all = 0',
    'for f in __future__.all_feature_names: flags_all |= getattr(__future__, f).compiler_flag',
    'failures = []',
    'for nb in json.load(open(sys.argv[1])):',
    '    main = types.ModuleType("__main__"); sys.modules["__main__"] = main; flags = 0',
    '    for i, code in enumerate(nb["cells"]):',
    '        try:',
    '            c = compile(code, "<cell %d>" % i, "exec", flags, True); flags |= c.co_flags & flags_all; exec(c, main.__dict__)',
    '        except Exception as e:',
    '            failures.append("seed %d cell %d: %s: %s" % (nb["seed"], i, type(e).__name__, e)); break',
    'print(json.dumps(failures))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, input], { encoding: 'utf8', env: { ...process.env, MPLBACKEND: 'Agg' }, maxBuffer: 16 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[];
}

/** Sized for CI: at most two minutes on two shared cores. */
export const CI_SEEDS = { first: 1, count: 40 };

describe('fidelity: generated notebooks (seeded), notebook straight through against flowbook run', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-generated-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seeds = Array.from({ length: CI_SEEDS.count }, (_, i) => CI_SEEDS.first + i);

  it('the generator is deterministic and the seed range covers every feature of the issue', () => {
    assert.deepEqual(generateNotebook(7), generateNotebook(7));
    assert.notDeepEqual(generateNotebook(7).cells, generateNotebook(8).cells);
    const seen = new Set(seeds.flatMap((s) => generateNotebook(s).features));
    assert.deepEqual(FEATURES.filter((f) => !seen.has(f)), [], 'features no notebook in the range uses');
  });

  it('every notebook of seeds 1-500 runs top to bottom without error (valid by construction)', () => {
    const notebooks = Array.from({ length: 500 }, (_, i) => {
      const g = generateNotebook(i + 1);
      const code = g.cells.filter(([tags]) => !(Array.isArray(tags) ? tags : [tags]).includes('skip')).map(([, source]) => source);
      return { seed: g.seed, cells: code };
    });
    assert.deepEqual(runStraightThrough(notebooks, dir), []);
  });

  for (const seed of seeds) {
    it(`seed ${seed}: identical values or a compile-time diagnostic`, async () => {
      const generated = generateNotebook(seed);
      const notebook = path.join(dir, `seed-${seed}.ipynb`);
      fs.writeFileSync(notebook, notebookJson(generated.cells));
      const j = await judge(notebook, path.join(dir, 'runs'));
      assert.ok(j.verdict === 'exact' || j.verdict === 'diagnostic', `${j.verdict} (features: ${generated.features.join(', ')}): ${j.detail}`);
    });
  }
});
