// Requirement resolution with a real Python interpreter whose installed packages the test
// controls: a wrapper around /usr/bin/python3 that puts a made-up site-packages (dist-info
// metadata only, no code) first on sys.path.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePipelineRequirements, resolveRequirements, type RequirementsInput } from '../../../src/images/requirements';
import { makePipeline } from '../../support/pipelineBuilder';
import { canonicalName, parseRequirement, pinRequirement, readRequirementsFile } from '../../../src/images/requirementSpec';
import { STDLIB_MODULES } from '../../../src/images/stdlib';
import { tableDistribution } from '../../../src/images/distributions';
import { makeInterpreter, tmpDir } from './baseImage';

const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/images/reqs');


describe('images: requirement lines and files', () => {
  it('normalises names the PEP 503 way', () => {
    assert.equal(canonicalName('Scikit_Learn'), 'scikit-learn');
    assert.equal(canonicalName('ruamel.yaml'), 'ruamel-yaml');
  });

  it('tells fixed requirements from bare names and pins bare ones, keeping extras and markers', () => {
    assert.equal(parseRequirement('pandas==2.2.1').fixed, true);
    assert.equal(parseRequirement('scikit-learn [alldeps] >=1.4').key, 'scikit-learn');
    const bare = parseRequirement('dask[dataframe]; python_version >= "3.9"');
    assert.equal(bare.fixed, false);
    assert.equal(pinRequirement(bare, '2024.1.0'), 'dask[dataframe]==2024.1.0; python_version >= "3.9"');
    const url = parseRequirement('https://example.org/wheels/foo_bar-1.0-py3-none-any.whl');
    assert.equal(url.key, 'foo-bar');
    assert.equal(url.fixed, true);
  });

  it('reads requirements.txt with comments, continuations, includes and pip options', () => {
    const dir = tmpDir('flowbook-reqfile-');
    fs.writeFileSync(path.join(dir, 'base.txt'), 'numpy==1.26.4\n');
    fs.writeFileSync(path.join(dir, 'requirements.txt'), '# top\n-r base.txt\n--index-url https://pypi.example.org/simple\npandas \\\n  >=2.0  # inline\n-e ./src\n-r missing.txt\n');
    const read = readRequirementsFile(path.join(dir, 'requirements.txt'));
    assert.deepEqual(read.requirements.map((r) => r.text), ['numpy==1.26.4', 'pandas >=2.0']);
    assert.deepEqual(read.options, ['--index-url https://pypi.example.org/simple']);
    assert.equal(read.skipped.length, 2);
    assert.match(read.skipped[0]!.reason, /editable/);
    assert.match(read.skipped[1]!.reason, /missing\.txt does not exist/);
  });

  it('embeds the Python 3.12 standard library and a table of renamed imports', () => {
    for (const m of ['os', 'json', 'tomllib', 'asyncio', '__future__']) assert.ok(STDLIB_MODULES.has(m), m);
    for (const m of ['distutils', 'imp', 'asynchat', 'numpy']) assert.ok(!STDLIB_MODULES.has(m), m);
    assert.equal(tableDistribution('sklearn'), 'scikit-learn');
    assert.equal(tableDistribution('PIL'), 'pillow');
    assert.equal(tableDistribution('bs4'), 'beautifulsoup4');
    assert.equal(tableDistribution('cv2'), 'opencv-python');
    assert.equal(tableDistribution('hasOwnProperty'), undefined);
  });
});

describe('images: requirement resolution with a real interpreter', function () {
  this.timeout(30_000);
  let env: { python: string; dir: string };
  before(() => {
    env = makeInterpreter();
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  const input = (over: Partial<RequirementsInput> = {}): RequirementsInput => ({
    modules: ['os', 'json', 'numpy', 'pandas', 'sklearn', 'yaml', 'cv2', 'weirdmod', 'helpers', 'mylib', 'notarealpackage_xyz', 'PIL'],
    pip: [{ specs: ['requests==2.28.1', 'scikit-learn'], cell: 0, line: 1 }],
    notebookDir: FIXTURE,
    ...over,
  });

  it('maps imports to distributions, pins them from the interpreter, and leaves stdlib and local modules out', async () => {
    const r = await resolveRequirements(input(), { python: env.python, requirementsFile: false });
    assert.deepEqual(r.lines, [
      'numpy==1.26.4',
      // The interpreter knows cv2 comes from the headless build here: it wins over the table.
      'opencv-python-headless==4.9.0.80',
      'pandas==2.2.1',
      // PIL is in the table but not installed: kept, unpinned, with a warning.
      'pillow',
      'PyYAML==6.0.1',
      // The notebook's own pin wins over the interpreter's version.
      'requests==2.28.1',
      // `%pip install scikit-learn` had no version: pinned from the interpreter.
      'scikit-learn==1.4.2',
      // Not in the table: confirmed by the interpreter's packages_distributions().
      'weird-dist==0.3',
    ]);
    assert.deepEqual(r.stdlibModules, ['json', 'os']);
    assert.deepEqual(r.localModules, ['helpers', 'mylib']);
    assert.deepEqual(r.unknownImports, ['notarealpackage_xyz']);
    assert.ok(r.warnings.some((w) => w.includes('notarealpackage_xyz') && w.includes('requirements.txt')), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /left unpinned: pillow/.test(w)), r.warnings.join('\n'));
    const sk = r.entries.find((e) => e.key === 'scikit-learn');
    assert.deepEqual(sk?.source, { kind: 'pip', cell: 0, line: 1 });
    assert.equal(r.interpreter?.version.split('.')[0], '3');
  });

  it('merges requirements.txt next to the notebook: options kept, conflicts reported, the notebook wins', async () => {
    const r = await resolveRequirements(input({ modules: ['yaml', 'flask'] }), { python: env.python });
    assert.deepEqual(r.options, ['--extra-index-url https://pypi.example.org/simple']);
    assert.equal(r.lines[0], '--extra-index-url https://pypi.example.org/simple');
    assert.ok(r.lines.includes('requests==2.28.1'));
    assert.ok(r.lines.includes('flask==2.2.2'), 'a pinned line from requirements.txt is kept as written');
    assert.ok(r.lines.includes('PyYAML==6.0.1'), 'a bare line from requirements.txt is pinned from the interpreter');
    assert.equal(r.lines.filter((l) => /^pyyaml/i.test(l)).length, 1, 'the import and the file line merge');
    assert.ok(r.warnings.some((w) => w.includes('requests>=2.0') && w.includes('cell 1 line 1') && w.includes('the first is used')), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => w.includes('-e ./local-editable')), r.warnings.join('\n'));
  });

  it('gives the same sorted output on every run', async () => {
    const a = await resolveRequirements(input(), { python: env.python, requirementsFile: false });
    const b = await resolveRequirements(input({ modules: [...input().modules].reverse() }), { python: env.python, requirementsFile: false });
    assert.deepEqual(a.lines, b.lines);
  });

  it('without a usable interpreter, maps only table imports, unpinned, and says which interpreter failed', async () => {
    const r = await resolveRequirements(input(), { python: '/nonexistent/python3', requirementsFile: false });
    assert.ok(r.lines.includes('scikit-learn'));
    assert.ok(r.lines.includes('numpy'));
    assert.ok(!r.lines.some((l) => l.startsWith('weird')));
    assert.ok(r.unknownImports.includes('weirdmod'));
    assert.ok(r.warnings.some((w) => w.includes('/nonexistent/python3') && w.includes('--python')), r.warnings.join('\n'));
    assert.equal(r.interpreter, undefined);
  });

  it("adds what the step runtime needs to every pipeline's requirements, pinned, unless the notebook pins it", async () => {
    const pipeline = { ...makePipeline({ steps: [{ name: 's' }] }), modules: ['numpy'], notebookPath: path.join(FIXTURE, 'n.ipynb') };
    const r = await resolvePipelineRequirements(pipeline, { python: env.python, requirementsFile: false });
    assert.deepEqual(r.lines, ['cloudpickle==3.0.0', 'numpy==1.26.4']);
    assert.deepEqual(r.entries.find((e) => e.key === 'cloudpickle')?.source, { kind: 'runtime' });
    const pinned = await resolvePipelineRequirements({ ...pipeline, requirements: [{ specs: ['cloudpickle==2.2.1'], cell: 0, line: 1 }] }, { python: env.python, requirementsFile: false });
    assert.deepEqual(pinned.lines, ['cloudpickle==2.2.1', 'numpy==1.26.4']);
  });

  it('never imports the packages it asks about', async () => {
    // A module whose import would leave a marker file: only its metadata may be read.
    const site = path.join(env.dir, 'site');
    const marker = path.join(env.dir, 'imported.txt');
    fs.writeFileSync(path.join(site, 'weirdmod.py'), `open(${JSON.stringify(marker)}, 'w').write('imported')\n`);
    await resolveRequirements(input({ modules: ['weirdmod'] }), { python: env.python, requirementsFile: false });
    assert.equal(fs.existsSync(marker), false);
  });
});
