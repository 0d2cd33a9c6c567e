// `npm run fidelity`: the fidelity figures. Runs every hand-written case (a table by the
// issue's classes) and a range of generated notebooks (default seeds 1–200, or
// `npm run fidelity -- --seeds 1-500` or `--seeds 2,17,40-60`), and prints the reproduction rate: exact,
// diagnostic, silently different, crashed; with the features of the notebooks that failed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { notebookJson } from '../support/notebooks';
import { loadCases, writeCaseNotebook } from './cases';
import { FEATURES, Feature, generateNotebook } from './generator';
import { Verdict, judge } from './judge';
import { compileNotebookFile } from '../../src/converter';

const VERDICTS: Verdict[] = ['exact', 'diagnostic', 'different', 'crashed'];
const LABEL: Record<Verdict, string> = { exact: 'exact', diagnostic: 'diagnostic', different: 'silently different', crashed: 'crashed' };

function seedRange(argv: string[]): number[] {
  const i = argv.indexOf('--seeds');
  const text = i >= 0 ? argv[i + 1] ?? '' : '1-200';
  return text.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`--seeds ${text}: give seeds and ranges such as 1-200 or 2,17,40-60`);
    const first = Number(m[1]);
    const last = Number(m[2] ?? m[1]);
    return Array.from({ length: last - first + 1 }, (_, k) => first + k);
  });
}

function pad(text: string | number, width: number): string {
  return String(text).padEnd(width);
}

async function handWritten(dir: string): Promise<void> {
  const cases = loadCases();
  const byClass = new Map<number, { cases: number; pass: number; verdicts: Record<Verdict, number>; failing: string[] }>();
  for (const c of cases) {
    const row = byClass.get(c.klass) ?? { cases: 0, pass: 0, verdicts: { exact: 0, diagnostic: 0, different: 0, crashed: 0 }, failing: [] };
    byClass.set(c.klass, row);
    row.cases++;
    const notebook = writeCaseNotebook(c, dir);
    let pass: boolean;
    let verdict: Verdict;
    let detail: string;
    if (c.expect.kind === 'diagnostic') {
      const cells = c.expect.cells;
      const { diagnostics } = await compileNotebookFile(notebook);
      pass = diagnostics.some((d) => d.cell !== undefined && cells.includes(d.cell) && d.severity !== 'info');
      const j = pass ? undefined : await judge(notebook, path.join(dir, 'runs'), c.params);
      verdict = pass ? 'diagnostic' : (j?.verdict ?? 'crashed');
      detail = pass ? '' : `expected a diagnostic on cell index ${cells.join('/')}; got ${LABEL[verdict]}: ${j?.detail ?? ''}`;
    } else {
      const j = await judge(notebook, path.join(dir, 'runs'), c.params);
      verdict = j.verdict;
      pass = verdict === 'exact';
      detail = j.detail;
    }
    row.verdicts[verdict]++;
    if (pass) row.pass++;
    else row.failing.push(`${c.name}: ${LABEL[verdict]}: ${detail.slice(0, 160)}`);
  }
  console.log(`\nHand-written cases (test/fixtures/fidelity): ${cases.length}`);
  console.log(`${pad('class', 7)}${pad('cases', 7)}${pad('as expected', 13)}${VERDICTS.map((v) => pad(LABEL[v], 20)).join('')}`);
  let total = 0;
  for (const [klass, row] of [...byClass.entries()].sort((a, b) => a[0] - b[0])) {
    total += row.pass;
    console.log(`${pad(klass === 0 ? 'other' : klass, 7)}${pad(row.cases, 7)}${pad(row.pass, 13)}${VERDICTS.map((v) => pad(row.verdicts[v], 20)).join('')}`);
  }
  console.log(`as expected: ${total} of ${cases.length}`);
  for (const row of byClass.values()) for (const f of row.failing) console.log(`  ✗ ${f}`);
}

async function generated(dir: string, seeds: number[]): Promise<void> {
  const counts: Record<Verdict, number> = { exact: 0, diagnostic: 0, different: 0, crashed: 0 };
  const byFeature = new Map<Feature, Record<Verdict, number>>(FEATURES.map((f) => [f, { exact: 0, diagnostic: 0, different: 0, crashed: 0 }]));
  const bad: string[] = [];
  const codes = new Map<string, { count: number; example: string }>();
  for (const seed of seeds) {
    const g = generateNotebook(seed);
    const notebook = path.join(dir, `seed-${seed}.ipynb`);
    fs.writeFileSync(notebook, notebookJson(g.cells));
    const j = await judge(notebook, path.join(dir, 'runs'));
    process.stderr.write(`\rseed ${seed}: ${LABEL[j.verdict]}`.padEnd(40));
    counts[j.verdict]++;
    for (const f of g.features) (byFeature.get(f) as Record<Verdict, number>)[j.verdict]++;
    const first = j.verdict === 'diagnostic' ? j.diagnostics[0] : undefined;
    if (first) codes.set(first.code, { count: (codes.get(first.code)?.count ?? 0) + 1, example: codes.get(first.code)?.example ?? `seed ${seed}: ${first.message}` });
    if (j.verdict === 'different' || j.verdict === 'crashed') bad.push(`seed ${seed}: ${LABEL[j.verdict]}: ${j.detail.slice(0, 160)}`);
    fs.rmSync(path.join(dir, 'runs'), { recursive: true, force: true });
  }
  process.stderr.write('\n');
  const n = seeds.length;
  const rate = (k: number) => `${k} (${((100 * k) / n).toFixed(1)}%)`;
  console.log(`\nGenerated notebooks: seeds ${seeds[0]}–${seeds[n - 1]} (${n} notebooks)`);
  for (const v of VERDICTS) console.log(`  ${pad(LABEL[v], 20)}${rate(counts[v])}`);
  console.log(`\n${pad('feature', 22)}${VERDICTS.map((v) => pad(LABEL[v], 20)).join('')}`);
  for (const [f, row] of byFeature) console.log(`${pad(f, 22)}${VERDICTS.map((v) => pad(row[v], 20)).join('')}`);
  if (codes.size) {
    console.log('\nWhat stopped the diagnostic ones (first diagnostic of each notebook):');
    for (const [code, { count, example }] of [...codes.entries()].sort((a, b) => b[1].count - a[1].count)) console.log(`  ${code} ×${count}, e.g. ${example.slice(0, 150)}`);
  }
  if (bad.length) {
    console.log(`\nNot reproduced (first 20; replay with generateNotebook(seed) in test/fidelity/generator.ts):`);
    for (const b of bad.slice(0, 20)) console.log(`  ${b}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const seeds = seedRange(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-fidelity-'));
  try {
    if (!argv.includes('--generated-only')) await handWritten(dir);
    if (!argv.includes('--cases-only')) await generated(dir, seeds);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(2);
});
