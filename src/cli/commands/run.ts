// `flowbook run`: compile the notebook, check -p values against the pipeline's parameters,
// then hand the compiled Workflow to the local runner (src/runner) and show its events as
// a compact live view. Everything about running lives in the runner; this is presentation.
// Exit codes: 0 succeeded, 1 a step failed (or the notebook has errors), 2 unusable
// input or options, 130 cancelled.

import type { Command } from 'commander';
import * as path from 'node:path';
import {
  PRELOAD_PACKAGES, RunEvent, RunHandle, RunOptions, RunOptionsError, RunRecord, STATUS_SYMBOL,
  formatDuration, parseParameterArgs, runSummaryJson, startRun, stepLine, summaryLines,
} from '../../runner';
import { nextStepLines } from '../../runner/runInfo';
import type { ParameterType } from '../../converter';
import { formatBytes } from '../../common/bytes';
import type { CommandResult } from '../main';
import { compileOrReport } from './compile';

interface RunFlags {
  param: string[];
  python?: string;
  jobs?: string;
  from?: string;
  only?: string;
  cache: boolean;
  preload: boolean;
  runsDir?: string;
  keep?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerRun(program: Command, result: CommandResult): void {
  program
    .command('run')
    .description('Run the pipeline on this machine: each step in its own Python process, independent steps in parallel, unchanged steps from the cache')
    .argument('<notebook>', 'the .ipynb file')
    .option('-p, --param <NAME=VALUE>', 'set a pipeline parameter (repeat for several)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--python <path>', 'Python interpreter for the steps (default: $FLOWBOOK_PYTHON, else python3)')
    .option('-j, --jobs <n>', 'how many steps may run at once (default: the number of cores)')
    .option('--from <step>', 're-run this step and everything after it, reusing earlier outputs from the latest run')
    .option('--only <step>', 'run only this step, with its inputs from the latest run')
    .option('--no-cache', 'run every step, even unchanged ones')
    .option('--no-preload', 'start each step in a fresh Python instead of forking it from one that has imported the packages already')
    .option('--runs-dir <dir>', 'where runs are recorded (default: .flowbook/runs next to the notebook)')
    .option('--keep <n>', 'after the run, keep only the newest N runs of this notebook (runs that kept runs reuse stay)')
    .option('--json', 'print one JSON object with the result on stdout; progress goes to stderr')
    .option('-v, --verbose', 'also print information diagnostics')
    .action(async (notebook: string, flags: RunFlags) => {
      result.code = await runCommand(notebook, flags);
    });
}

async function runCommand(notebook: string, flags: RunFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const jobs = wholeNumber('--jobs', flags.jobs);
  const keep = wholeNumber('--keep', flags.keep);
  if (jobs === null || keep === null) return 2;
  // A closed terminal or pipe is not the run's failure: the run goes on and is recorded.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const compiled = await compileOrReport(notebook, {}, flags.verbose ?? false);
  if (typeof compiled === 'number') {
    if (compiled === 1) say('flowbook run: fix the errors above; no step was run.');
    return compiled;
  }
  const { pipeline, workflow } = compiled;
  const parsed = await parseParameterArgs(flags.param, pipeline.parameters);
  if (parsed.problems.length > 0) {
    for (const p of parsed.problems) say(`flowbook run: ${p.message}`);
    return 2;
  }
  const parameterTypes: Record<string, ParameterType> = {};
  for (const p of pipeline.parameters) parameterTypes[p.name] = p.type;

  const options: RunOptions = {
    workflow,
    notebook,
    python: flags.python ?? process.env.FLOWBOOK_PYTHON ?? 'python3',
    parameters: parsed.values,
    parameterTypes,
    cache: flags.cache,
    preload: flags.preload,
    modules: pipeline.modules,
  };
  if (keep !== undefined) options.keep = keep;
  if (jobs !== undefined) options.jobs = jobs;
  if (flags.runsDir !== undefined) options.runsDir = flags.runsDir;
  if (flags.from !== undefined) options.from = flags.from;
  if (flags.only !== undefined) options.only = flags.only;

  let handle: RunHandle;
  try {
    handle = startRun(options);
  } catch (err) {
    if (err instanceof RunOptionsError) {
      say(`flowbook run: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const out = flags.json ? process.stderr : process.stdout;
  const view = new LiveView(out, handle, peopleDir(handle.dir));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      view.note(`${signal}: stopping the running steps (again to force)`);
      handle.cancel();
    } else {
      // The runner's exit hook kills the step process groups.
      process.exit(130);
    }
  };
  // SIGHUP: the terminal or SSH session closed; the steps must not outlive the run.
  const stopSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of stopSignals) process.on(s, onSignal);
  let record: RunRecord;
  try {
    record = await handle.done;
  } finally {
    for (const s of stopSignals) process.off(s, onSignal);
    view.close();
  }
  for (const line of summaryLines(record, peopleDir(handle.dir))) out.write(`${line}\n`);
  if (record.status !== 'cancelled') for (const line of nextStepLines(record, peopleDir(handle.dir), peopleDir(path.resolve(notebook)))) out.write(`${line}\n`);
  if (flags.json) process.stdout.write(`${JSON.stringify(runSummaryJson(record))}\n`);
  if (record.missingModules) return 2;
  return record.status === 'succeeded' ? 0 : record.status === 'cancelled' ? 130 : 1;
}

/** A count option: undefined when not given, null (after saying why) when not a whole number of at least 1. */
function wholeNumber(flag: string, text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 1) return n;
  process.stderr.write(`flowbook run: ${flag} ${text}: give a whole number of at least 1\n`);
  return null;
}

/** The run folder as people would type it: relative when under the current folder. */
function peopleDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * One line per step. On a terminal the block is redrawn in place with a spinner and
 * running times; elsewhere (logs, CI) a plain line is printed whenever a step changes.
 */
class LiveView {
  private readonly tty: boolean;
  private steps: RunRecord['steps'];
  private readonly started = new Map<string, number>();
  private drawn = 0;
  private frame = 0;
  private preparing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly width: number;
  private readonly listener: (e: RunEvent) => void;

  constructor(private readonly out: NodeJS.WriteStream, private readonly handle: RunHandle, dirForPeople: string) {
    this.tty = out.isTTY === true && process.env.TERM !== 'dumb';
    const snapshot = handle.snapshot();
    this.steps = snapshot.steps;
    this.width = Math.max(...this.steps.map((s) => s.name.length), 4);
    this.out.write(`run ${snapshot.id} of ${path.basename(snapshot.notebook)}: ${this.steps.length} step${this.steps.length === 1 ? '' : 's'} (${dirForPeople})\n`);
    this.listener = (e) => this.onEvent(e);
    handle.events.on('event', this.listener);
    if (this.tty) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 100);
    }
  }

  note(message: string): void {
    this.clear();
    this.out.write(`${message}\n`);
    this.draw();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.handle.events.off('event', this.listener);
    if (this.tty) {
      this.steps = this.handle.snapshot().steps;
      this.draw();
    }
  }

  private onEvent(e: RunEvent): void {
    if (e.type === 'launcher') {
      this.preparing = e.state === 'starting';
      if (e.state === 'ready') {
        const python = this.handle.snapshot().python;
        const packages = [...new Set(e.preloaded.map((m) => m.split('.')[0] ?? m))].filter((p) => PRELOAD_PACKAGES.includes(p));
        const what = packages.length > 0 ? `, ${packages.join(', ')} imported once for all steps in ${formatDuration(e.ms)}` : '';
        this.note(`  python ${python.version ?? ''} (${python.executable ?? python.command})${what}`);
      } else if (e.state === 'starting' && !this.tty) {
        this.out.write('  starting Python...\n');
      }
      return;
    }
    if (e.type === 'pruned') {
      this.note(`  deleted ${e.runs.length} older run${e.runs.length === 1 ? '' : 's'} (--keep), ${formatBytes(e.bytes)} freed`);
      return;
    }
    if (e.type === 'warning') {
      this.clear();
      process.stderr.write(`warning: ${e.message}\n`);
      this.draw();
      return;
    }
    if (e.type !== 'step-changed') return;
    this.steps = this.steps.map((s) => (s.name === e.step.name ? e.step : s));
    if (e.step.status === 'running') this.started.set(e.step.name, Date.now());
    if (this.tty) this.draw();
    else if (e.step.status !== 'pending') this.out.write(`${stepLine(e.step, this.width)}\n`);
  }

  private clear(): void {
    if (!this.tty || this.drawn === 0) return;
    this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.tty) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const columns = Math.max(20, (this.out.columns || 80) - 1);
    const lines = this.steps.map((s) => {
      const running = s.status === 'running';
      const symbol = running ? (SPINNER[this.frame] ?? '*') : STATUS_SYMBOL[s.status];
      const elapsed = running ? Date.now() - (this.started.get(s.name) ?? Date.now()) : undefined;
      return stepLine(s, this.width, symbol, elapsed).slice(0, columns);
    });
    if (this.preparing) lines.unshift(`  ${SPINNER[this.frame] ?? '*'} starting Python (importing the notebook's packages once)`.slice(0, columns));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.out.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[0J`);
    this.drawn = lines.length;
  }
}
