// What a local run produced, as plain data for `flowbook runs --local`, `flowbook show`,
// `flowbook compare` and the editor's run details: each run with the parameters it changed
// since the run before it, its metrics, and per step the values it passed on, read from the
// `_summary.json` the step writes next to its outputs (`<run>/data/<template>/_summary.json`).
// Reading never loads a value itself; a missing or unreadable summary just means "no summary".

import * as fs from 'node:fs';
import * as path from 'node:path';
import { changedParameters } from '../common/runCompare';
import { listRuns, readRun, type RunRecord, type StepRecord } from './record';

/** What a step's `_summary.json` says about one value it saved. */
export interface ValueSummary {
  /** The Python type, e.g. `DataFrame`, `ndarray`, `LogisticRegression`, `int`. */
  type: string;
  /** Size of the saved file in bytes. */
  bytes: number;
  /** A short repr (models, scalars). */
  repr?: string;
  shape?: number[];
  dtype?: string;
  columns?: string[];
  /** The first rows of a table, as text. */
  head?: string;
}

export const SUMMARY_FILE = '_summary.json';

/** The value summaries a step wrote (name → summary); empty when it wrote none. */
export function readValueSummaries(runDir: string, template: string): Record<string, ValueSummary> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(runDir, 'data', template, SUMMARY_FILE), 'utf8'));
  } catch {
    return {};
  }
  const values = (parsed as { values?: unknown } | null)?.values;
  if (typeof values !== 'object' || values === null) return {};
  const out: Record<string, ValueSummary> = {};
  for (const [name, v] of Object.entries(values as Record<string, unknown>)) {
    const s = v as Partial<ValueSummary> | null;
    if (!s || typeof s.type !== 'string') continue;
    const summary: ValueSummary = { type: s.type, bytes: typeof s.bytes === 'number' ? s.bytes : 0 };
    if (typeof s.repr === 'string') summary.repr = s.repr;
    if (Array.isArray(s.shape)) summary.shape = s.shape.filter((n): n is number => typeof n === 'number');
    if (typeof s.dtype === 'string') summary.dtype = s.dtype;
    if (Array.isArray(s.columns)) summary.columns = s.columns.map(String);
    if (typeof s.head === 'string') summary.head = s.head;
    out[name] = summary;
  }
  return out;
}

/** One line about a value: `DataFrame 150×5 (sepal_length, …) · 6.1 kB`. */
export function valueLine(v: ValueSummary): string {
  const parts = [v.type];
  if (v.shape && v.shape.length > 0) parts.push(v.shape.join('×'));
  if (v.dtype) parts.push(v.dtype);
  let text = parts.join(' ');
  if (v.columns && v.columns.length > 0) text += ` (${v.columns.slice(0, 4).join(', ')}${v.columns.length > 4 ? ', …' : ''})`;
  else if (v.repr && !v.shape) {
    // A model's repr starts with its type: show the repr alone rather than the name twice.
    const repr = v.repr.length > 60 ? `${v.repr.slice(0, 59)}…` : v.repr;
    text = repr.startsWith(v.type) ? repr : `${text} ${repr}`;
  }
  return `${text} · ${formatBytes(v.bytes)}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let n = bytes / 1000;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** A run as `flowbook runs --local` lists it. */
export interface LocalRunRow {
  id: string;
  notebook: string;
  status: RunRecord['status'];
  startedAt: string;
  durationMs?: number;
  parameters: RunRecord['parameters'];
  /** Parameters whose values differ from the previous run of the same notebook. */
  changed: string[];
  metrics: Record<string, number>;
}

/** The runs of a runs folder (newest first), each with what it changed since the one before. */
export function localRunRows(runsDir: string, options: { notebook?: string; limit?: number } = {}): LocalRunRow[] {
  const runs = listRuns(runsDir, options.notebook !== undefined ? { notebook: options.notebook } : {});
  const rows = runs.map((run, i) => {
    const previous = runs.slice(i + 1).find((r) => r.notebook === run.notebook);
    const row: LocalRunRow = {
      id: run.id, notebook: run.notebook, status: run.status, startedAt: run.startedAt,
      parameters: run.parameters, changed: changedParameters(run.parameters, previous?.parameters), metrics: run.metrics,
    };
    if (run.durationMs !== undefined) row.durationMs = run.durationMs;
    return row;
  });
  return options.limit === undefined ? rows : rows.slice(0, options.limit);
}

/** A step with the values it passed on. */
export interface StepDetails extends StepRecord {
  values: Record<string, ValueSummary>;
}

export interface RunDetails extends Omit<RunRecord, 'steps'> {
  dir: string;
  steps: StepDetails[];
  /** Parameters whose values differ from the previous run of the same notebook. */
  changed: string[];
}

/** A run with its steps' value summaries and the parameters it changed. */
export function runDetails(runsDir: string, id: string): RunDetails | undefined {
  const run = readRun(runsDir, id);
  if (!run) return undefined;
  const dir = path.join(runsDir, id);
  const previous = listRuns(runsDir, { notebook: run.notebook }).find((r) => r.startedAt < run.startedAt || (r.startedAt === run.startedAt && r.id < run.id));
  return {
    ...run,
    dir,
    changed: changedParameters(run.parameters, previous?.parameters),
    steps: run.steps.map((s) => ({ ...s, values: readValueSummaries(dir, s.template) })),
  };
}

export class RunLookupError extends Error {}

/**
 * The run a user named, in any of `runsDirs`: a full id, or the start of one when only one
 * run matches (`20261122-1617`). Throws `RunLookupError` saying what exists when none or
 * several do.
 */
export function findRun(runsDirs: readonly string[], wanted: string): { runsDir: string; id: string } {
  const all = runsDirs.flatMap((runsDir) => listRuns(runsDir).map((r) => ({ runsDir, id: r.id })));
  const exact = all.find((r) => r.id === wanted);
  if (exact) return exact;
  const matches = all.filter((r) => r.id.startsWith(wanted));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) throw new RunLookupError(`"${wanted}" matches ${matches.length} runs (${matches.slice(0, 3).map((m) => m.id).join(', ')}${matches.length > 3 ? ', …' : ''}); give more of the id`);
  const where = runsDirs.length === 1 ? runsDirs[0] : `${runsDirs.length} runs folders`;
  throw new RunLookupError(all.length === 0
    ? `no runs found (looked in ${runsDirs.length === 0 ? 'no .flowbook/runs folder here' : where}); run \`flowbook run NOTEBOOK\` first, or pass --runs-dir`
    : `no run "${wanted}" (looked in ${where}); \`flowbook runs --local\` lists them`);
}

const SKIP_DIRS = new Set(['node_modules', '.git', '.venv', 'venv', '__pycache__']);

/**
 * The runs folders under `root`: `root/.flowbook/runs` and `.flowbook/runs` in folders up to
 * two levels below it, where `flowbook run` puts them next to a notebook.
 */
export function discoverRunsDirs(root: string, depth = 2): string[] {
  const found: string[] = [];
  const visit = (dir: string, level: number) => {
    const runs = path.join(dir, '.flowbook', 'runs');
    if (fs.existsSync(runs)) found.push(runs);
    if (level >= depth) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name)) visit(path.join(dir, e.name), level + 1);
    }
  };
  visit(path.resolve(root), 0);
  return found;
}

/** What to look at and what to run next, for the end of `flowbook run`. */
export function nextStepLines(run: RunRecord, runDirForPeople: string, notebookForPeople: string): string[] {
  const lines = [`outputs: ${runDirForPeople}/data/  logs: ${runDirForPeople}/steps/<step>/`];
  const failed = run.steps.find((s) => s.status === 'failed');
  lines.push(`next: flowbook show ${run.id}`);
  if (failed) lines.push(`      fix cell ${failed.error?.cell !== undefined ? failed.error.cell + 1 : failed.cells.map((c) => c + 1).join(',')}, then flowbook run ${notebookForPeople} --from ${failed.name}`);
  else lines.push(`      flowbook compare ${run.id} <another run>   (flowbook runs --local lists them)`);
  return lines;
}
