// The run record: `<runs dir>/<run id>/run.json`, the one file that describes a local run.
// It is rewritten atomically (temp file + rename) on every change, so the editor can watch
// and read it at any moment and never sees half a file. Run ids sort by start time.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomicFile';
import { withCellNumbers } from '../converter/cellNumbers';
import type { JsonValue } from '../converter/ir';
import type { MissingModules } from './python';
import type { ReadStamp } from './reads';

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
  /** Why a step was skipped or reused, or why an earlier result could not be reused, in a few words. */
  reason?: string;
  /** The pipeline parameters this step's result was computed with (for a cached step: in the run it came from). */
  parameters?: Record<string, JsonValue>;
  /** The step's output files (relative to `data/<template>/`), as it left them. */
  outputFiles?: OutputFile[];
  /** Files and folders outside the run the step read (its own local modules too); absent when unknown. */
  reads?: ReadStamp[];
  /** Installed distributions the step imported, name → version. */
  packages?: Record<string, string>;
  metrics: Record<string, number>;
  error?: StepError;
}

export interface OutputFile {
  path: string;
  size: number;
  mtimeMs: number;
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
  /** That process's start time (Linux: clock ticks after boot), so a reused pid is not taken for it. */
  runnerStart?: string;
  /** The machine it runs on: only there can the pid be checked. */
  runnerHost?: string;
  /** Set when the runner ended without finishing the run (killed, machine stopped); steps left running were cancelled. */
  interrupted?: boolean;
  /** Packages the interpreter lacks: the run did not start. */
  missingModules?: MissingModules;
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

/**
 * Reads `<runsDir>/<id>/run.json`; undefined when missing or unreadable. A record left
 * "running" by a runner that no longer exists is returned, and rewritten when the folder
 * is writable, as interrupted (see `settleInterrupted`).
 */
export function readRun(runsDir: string, id: string): RunRecord | undefined {
  let record: RunRecord;
  try {
    record = JSON.parse(fs.readFileSync(path.join(runsDir, id, RUN_FILE), 'utf8')) as RunRecord;
    if (record.version !== 1 || !Array.isArray(record.steps)) return undefined;
  } catch {
    return undefined;
  }
  if (settleInterrupted(record)) {
    try {
      writeRunRecord(path.join(runsDir, id), record);
    } catch {
      // A read-only or full runs folder: the caller still sees the run as interrupted.
    }
  }
  return record;
}

/** This process's identity for `runnerStart`: its start time from /proc, where there is one. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); fields are counted after the command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** False only when the run's runner is known to be gone: no such process here, or another process under its pid. */
export function runnerAlive(record: Pick<RunRecord, 'runnerPid' | 'runnerStart' | 'runnerHost'>): boolean {
  if (record.runnerHost !== undefined && record.runnerHost !== os.hostname()) return true;
  try {
    process.kill(record.runnerPid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = record.runnerStart === undefined ? undefined : processStartTime(record.runnerPid);
  return start === undefined || start === record.runnerStart;
}

/**
 * Marks a "running" record whose runner is gone as interrupted: the run failed, and steps
 * still pending or running were cancelled. Returns true when it changed the record.
 */
export function settleInterrupted(record: RunRecord, alive: (r: RunRecord) => boolean = runnerAlive): boolean {
  if (record.status !== 'running' || alive(record)) return false;
  record.status = 'failed';
  record.interrupted = true;
  record.error = `interrupted: the runner (process ${record.runnerPid}) ended before the run finished (closed terminal or editor, killed, or the machine stopped); run it again to finish it`;
  for (const s of record.steps) {
    if (s.status !== 'running' && s.status !== 'pending') continue;
    s.status = 'cancelled';
    s.reason = 'the run was interrupted';
    delete s.pid;
  }
  return true;
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
