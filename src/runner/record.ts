// The run record: `<runs dir>/<run id>/run.json`, the one file that describes a local run.
// It is rewritten atomically (temp file + rename) on every change, so the editor can watch
// and read it at any moment and never sees half a file. Run ids sort by start time.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomicFile';
import { withCellNumbers } from '../converter/cellNumbers';
import type { JsonValue } from '../converter/ir';

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cached' | 'cancelled';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Where a failure happened in the notebook, mapped from the step script's traceback. */
export interface StepError {
  /** One line for people: `step boom failed: IndexError at cell 7, line 2 (list index out of range)`. */
  message: string;
  /** The Python exception type, when the step died of one. */
  exception?: string;
  /** The exception's message (first line). */
  detail?: string;
  /** 0-based notebook cell index. */
  cell?: number;
  /** 1-based line within the cell. */
  line?: number;
  /** For a missing package: the module, and how to install it. */
  module?: string;
  install?: string;
}

export interface StepRecord {
  name: string;
  task: string;
  template: string;
  /** 0-based notebook cell indices. */
  cells: number[];
  /** Upstream step names. */
  dependencies: string[];
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** Process exit code; null when it was stopped by a signal. */
  exitCode?: number | null;
  signal?: string;
  pid?: number;
  attempts?: number;
  /** Paths relative to the run folder. */
  script: string;
  stdout: string;
  stderr: string;
  /** Identifies code, interpreter, parameters and inputs; equal keys reuse outputs. */
  cacheKey?: string;
  /** SHA-256 over the step's output files. */
  outputDigest?: string;
  /** For `cached` steps: the run whose outputs were reused. */
  cachedFrom?: string;
  /** Why a step was skipped or reused, in a few words. */
  reason?: string;
  metrics: Record<string, number>;
  error?: StepError;
}

export type RunMode = { kind: 'all' } | { kind: 'from'; step: string } | { kind: 'only'; step: string };

export interface RunRecord {
  /** Format version of this file. */
  version: 1;
  id: string;
  /** Absolute path of the notebook. */
  notebook: string;
  /** The workflow's name or generateName. */
  workflow: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  /**
   * The interpreter. `preloaded`: modules imported once by the process the steps were
   * forked from (`launcherPid`), when steps were started that way.
   */
  python: { command: string; executable?: string; version?: string; preloaded?: string[]; launcherPid?: number };
  /** Every pipeline parameter with the value this run used. */
  parameters: Record<string, JsonValue>;
  mode: RunMode;
  cache: boolean;
  jobs: number;
  /** For `--from`/`--only`: the run whose outputs were reused upstream. */
  baseRun?: string;
  /** The process running this run; a watcher can tell a runner that died. */
  runnerPid: number;
  steps: StepRecord[];
  /** Metric name → value, from every step that wrote metrics. */
  metrics: Record<string, number>;
  /** A problem with the run as a whole (for example, no Python interpreter). */
  error?: string;
}

export const RUN_FILE = 'run.json';

/** A run id such as `20261122-161700-ab12`: UTC start time, then random hex against collisions. */
export function newRunId(now: Date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${crypto.randomBytes(2).toString('hex')}`;
}

/** Creates a fresh run folder under `runsDir` (named `preferredId` unless that is taken) and returns its id. */
export function createRunDir(runsDir: string, preferredId: string = newRunId()): { id: string; dir: string } {
  fs.mkdirSync(runsDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const id = attempt === 0 ? preferredId : newRunId();
    const dir = path.join(runsDir, id);
    try {
      fs.mkdirSync(dir);
      return { id, dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function writeRunRecord(runDir: string, record: RunRecord): void {
  // Cell indices are 0-based; the 1-based numbers people see go beside them (`cellNumbers`, `cellNumber`).
  writeFileAtomic(path.join(runDir, RUN_FILE), `${JSON.stringify(withCellNumbers(record), null, 2)}\n`);
}

/** Reads `<runsDir>/<id>/run.json`; undefined when missing or unreadable. */
export function readRun(runsDir: string, id: string): RunRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(runsDir, id, RUN_FILE), 'utf8')) as RunRecord;
    return record.version === 1 && Array.isArray(record.steps) ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The runs under `runsDir`, newest first (optionally only those of one notebook, and at
 * most `limit`). Folders without a readable run.json are passed over.
 */
export function listRuns(runsDir: string, options: { notebook?: string; limit?: number } = {}): RunRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const wanted = options.notebook === undefined ? undefined : path.resolve(options.notebook);
  const runs: RunRecord[] = [];
  for (const name of names.filter((n) => /^\d{8}-\d{6}-/.test(n)).sort().reverse()) {
    const run = readRun(runsDir, name);
    if (!run || (wanted !== undefined && run.notebook !== wanted)) continue;
    runs.push(run);
    if (options.limit !== undefined && runs.length >= options.limit) break;
  }
  // Ids only sort to the second; the start time breaks ties between runs of the same second.
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
}

/** The default runs folder for a notebook: `.flowbook/runs` next to it. */
export function defaultRunsDir(notebookPath: string): string {
  return path.join(path.dirname(path.resolve(notebookPath)), '.flowbook', 'runs');
}
