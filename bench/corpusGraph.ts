// The shape of every pipeline the analysis builds from the real notebooks (../shared/corpus),
// the examples and the test fixtures: edges, steps, critical path (steps on the longest
// chain) and values passed. For comparing two versions of the analysis (the edges a change
// removes or adds), not a timing benchmark:
//   node out/bench/corpusGraph.js > before.json   (on the old build)
//   node out/bench/corpusGraph.js > after.json    (on the new build)
//   node out/bench/corpusGraph.js --compare before.json after.json

import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeNotebookFile } from '../src/converter';
import type { Pipeline } from '../src/converter/ir';

const REPO = path.resolve(__dirname, '..', '..');
const FOLDERS = [path.join(REPO, '..', 'shared', 'corpus'), path.join(REPO, 'examples'), path.join(REPO, 'test', 'fixtures', 'notebooks')];

/** One notebook's graph: edges as `from->to`, and the step count on its longest chain. */
export interface GraphShape {
  steps: number;
  edges: string[];
  criticalPath: number;
  inputs: number;
  errors: number;
}

function notebooks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? notebooks(p) : e.name.endsWith('.ipynb') ? [p] : [];
  });
}

/** The number of steps on the longest chain of edges. */
export function longestChain(p: Pick<Pipeline, 'steps' | 'edges'>): number {
  const into = new Map<string, string[]>();
  for (const e of p.edges) into.set(e.to, [...(into.get(e.to) ?? []), e.from]);
  const depth = new Map<string, number>();
  const of = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const d = 1 + Math.max(0, ...(into.get(name) ?? []).map((f) => of(f, seen)));
    depth.set(name, d);
    return d;
  };
  return Math.max(0, ...p.steps.map((s) => of(s.name, new Set())));
}

export async function shapes(): Promise<Record<string, GraphShape>> {
  const out: Record<string, GraphShape> = {};
  for (const file of FOLDERS.flatMap(notebooks).sort()) {
    const key = path.relative(path.join(REPO, '..'), file);
    try {
      const p = await analyzeNotebookFile(file);
      out[key] = {
        steps: p.steps.length,
        edges: p.edges.map((e) => `${e.from}->${e.to}`).sort(),
        criticalPath: longestChain(p),
        inputs: p.steps.reduce((n, s) => n + s.inputs.length, 0),
        errors: p.diagnostics.filter((d) => d.severity === 'error').length,
      };
    } catch (err) {
      process.stderr.write(`${key}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return out;
}

function compare(before: Record<string, GraphShape>, after: Record<string, GraphShape>): string {
  const lines: string[] = [];
  const total = { removed: 0, added: 0, edgesBefore: 0, edgesAfter: 0, pathBefore: 0, pathAfter: 0, inputsBefore: 0, inputsAfter: 0 };
  for (const [name, a] of Object.entries(after)) {
    const b = before[name];
    if (!b) continue;
    const removed = b.edges.filter((e) => !a.edges.includes(e));
    const added = a.edges.filter((e) => !b.edges.includes(e));
    total.removed += removed.length;
    total.added += added.length;
    total.edgesBefore += b.edges.length;
    total.edgesAfter += a.edges.length;
    total.pathBefore += b.criticalPath;
    total.pathAfter += a.criticalPath;
    total.inputsBefore += b.inputs;
    total.inputsAfter += a.inputs;
    if (removed.length + added.length > 0 || a.criticalPath !== b.criticalPath || a.errors !== b.errors) {
      lines.push(`${name}: ${b.edges.length} -> ${a.edges.length} edges (-${removed.length} ${removed.join(' ')}; +${added.length} ${added.join(' ')}), critical path ${b.criticalPath} -> ${a.criticalPath} steps, inputs ${b.inputs} -> ${a.inputs}, errors ${b.errors} -> ${a.errors}`);
    }
  }
  lines.push(`${Object.keys(after).length} notebooks: edges ${total.edgesBefore} -> ${total.edgesAfter} (${total.removed} removed, ${total.added} added); critical paths summed ${total.pathBefore} -> ${total.pathAfter} steps; values passed ${total.inputsBefore} -> ${total.inputsAfter}`);
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args[0] === '--compare' && args[1] && args[2]) {
    const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, GraphShape>;
    process.stdout.write(compare(read(args[1]), read(args[2])));
  } else {
    void shapes().then((s) => process.stdout.write(JSON.stringify(s, null, 1) + '\n'));
  }
}
