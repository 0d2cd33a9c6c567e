// The local runs on the command line: `flowbook runs --local` (also what `flowbook runs`
// lists when no cluster is configured), `flowbook show RUN` and `flowbook compare RUN RUN...`.
// Runs are found in --runs-dir, else in every `.flowbook/runs` folder of the current folder
// and two levels below (where `flowbook run` records them, next to each notebook).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { compareRuns, comparisonRows, metricText, parameterText, type ComparedRun } from '../../common/runCompare';
import { formatDuration, STATUS_SYMBOL } from '../../runner/format';
import { defaultRunsDir } from '../../runner/record';
import { discoverRunsDirs, findRun, localRunRows, RunLookupError, runDetails, valueLine, type LocalRunRow, type RunDetails } from '../../runner/runInfo';
import type { CommandResult } from '../main';
import { out, say, table } from './clusterCommon';
import { addKfpOptions, kfpComparedRuns, kfpRunsCommand, reportKfpError, type KfpFlags } from './kfp';

export interface LocalFlags {
  runsDir?: string;
  notebook?: string;
  json?: boolean;
}

/** Adds --runs-dir and --notebook, which say where local runs are. */
export function addLocalOptions(cmd: Command): Command {
  return cmd
    .option('--runs-dir <dir>', 'the runs folder (default: every .flowbook/runs here and up to two folders down)')
    .option('--notebook <file>', "only this notebook's runs (from .flowbook/runs next to it)");
}

function runsDirs(flags: LocalFlags): string[] {
  if (flags.runsDir !== undefined) return [path.resolve(flags.runsDir)];
  if (flags.notebook !== undefined) return [defaultRunsDir(flags.notebook)];
  return discoverRunsDirs(process.cwd());
}

/**
 * True when a cluster could be reached without options: $KUBECONFIG, ~/.kube/config, or
 * running inside a cluster. `flowbook runs` lists local runs otherwise.
 */
export function clusterConfigured(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): boolean {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).some((f) => f !== '' && fs.existsSync(f));
  return fs.existsSync(path.join(home, '.kube', 'config')) || env.KUBERNETES_SERVICE_HOST !== undefined;
}

/** `flowbook runs --local`: one line per run with its status, changed parameters and metrics. */
export function listLocalRuns(flags: LocalFlags): number {
  const dirs = runsDirs(flags);
  const rows = dirs.flatMap((d) => localRunRows(d, flags.notebook !== undefined ? { notebook: flags.notebook } : {}))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
  if (flags.json) {
    out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    out(dirs.length === 0
      ? 'No local runs here (no .flowbook/runs folder in this folder or two levels down). Run one with `flowbook run NOTEBOOK`, or pass --runs-dir.'
      : `No local runs in ${dirs.map(peoplePath).join(', ')}. Run one with \`flowbook run NOTEBOOK\`.`);
    return 0;
  }
  const lines = [['RUN', 'NOTEBOOK', 'STATUS', 'DURATION', 'PARAMETERS', 'METRICS']];
  for (const r of rows) {
    lines.push([r.id, peoplePath(r.notebook), r.status, r.durationMs === undefined ? '' : formatDuration(r.durationMs), parametersText(r), metricsText(r.metrics)]);
  }
  for (const line of table(lines)) out(line);
  out('');
  out('`flowbook show RUN` shows one run; `flowbook compare RUN RUN...` puts runs side by side (an id prefix is enough).');
  return 0;
}

/** Changed parameters first, marked `*`; all of them when nothing changed. */
function parametersText(r: LocalRunRow): string {
  const names = Object.keys(r.parameters).sort((a, b) => Number(r.changed.includes(b)) - Number(r.changed.includes(a)) || a.localeCompare(b));
  return names.map((n) => `${r.changed.includes(n) ? '*' : ''}${n}=${parameterText(r.parameters[n])}`).join(' ');
}

function metricsText(metrics: Record<string, number>): string {
  return Object.keys(metrics).sort().map((n) => `${n}=${metricText(metrics[n] ?? NaN)}`).join(' ');
}

function peoplePath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function lookUp(flags: LocalFlags, wanted: string): RunDetails {
  const found = findRun(runsDirs(flags), wanted);
  const details = runDetails(found.runsDir, found.id);
  if (!details) throw new RunLookupError(`run ${found.id} has no readable run.json in ${peoplePath(found.runsDir)}`);
  return details;
}

/** `flowbook show RUN`: parameters, metrics, and each step with its time, cache and values. */
export function showLocalRun(wanted: string, flags: LocalFlags): number {
  const run = lookUp(flags, wanted);
  if (flags.json) {
    out(JSON.stringify(run, null, 2));
    return 0;
  }
  const dir = peoplePath(run.dir);
  out(`run ${run.id} of ${peoplePath(run.notebook)}: ${run.status}${run.durationMs === undefined ? '' : ` in ${formatDuration(run.durationMs)}`}`);
  if (run.error) out(`  error: ${run.error}`);
  const params = Object.keys(run.parameters).sort();
  if (params.length > 0) {
    out('parameters:');
    for (const n of params) out(`  ${n} = ${parameterText(run.parameters[n])}${run.changed.includes(n) ? '   (changed since the previous run)' : ''}`);
  }
  const metrics = Object.keys(run.metrics).sort();
  if (metrics.length > 0) {
    out('metrics:');
    for (const n of metrics) out(`  ${n} = ${metricText(run.metrics[n] ?? NaN)}`);
  }
  out('steps:');
  for (const s of run.steps) {
    const time = s.durationMs === undefined ? '' : ` ${formatDuration(s.durationMs)}`;
    const from = s.status === 'cached' && s.cachedFrom ? ` (reused from run ${s.cachedFrom})` : '';
    out(`  ${STATUS_SYMBOL[s.status]} ${s.name}  ${s.status}${time}${from}`);
    if (s.error) out(`      ${s.error.message}`);
    for (const [name, v] of Object.entries(s.values).sort(([a], [b]) => a.localeCompare(b))) out(`      ${name}: ${valueLine(v)}`);
    if (s.startedAt !== undefined || s.status === 'failed') out(`      log: ${dir}/${s.stderr}`);
  }
  out(`outputs: ${dir}/data/`);
  return run.status === 'failed' ? 1 : 0;
}

/** The prefix that names a Kubeflow Pipelines run in `show` and `compare`: `kfp:RUN_ID`. */
const KFP_PREFIX = 'kfp:';

/**
 * `flowbook compare RUN RUN...`: parameters and metrics side by side, differences marked `*`.
 * `kfp:RUN_ID` names a Kubeflow Pipelines run (read with the --target kfp options), in the order given.
 */
export async function compareLocalRuns(wanted: string[], flags: LocalFlags & KfpFlags): Promise<number> {
  const kfpIds = wanted.filter((w) => w.startsWith(KFP_PREFIX)).map((w) => w.slice(KFP_PREFIX.length));
  const kfpRuns = kfpIds.length > 0 ? await kfpComparedRuns(kfpIds, flags) : [];
  const compared: ComparedRun[] = wanted.map((w) => {
    if (w.startsWith(KFP_PREFIX)) return kfpRuns[kfpIds.indexOf(w.slice(KFP_PREFIX.length))] as ComparedRun;
    const r = lookUp(flags, w);
    return { id: r.id, label: r.id, parameters: r.parameters, metrics: r.metrics };
  });
  const comparison = compareRuns(compared);
  if (flags.json) {
    out(JSON.stringify(comparison, null, 2));
    return 0;
  }
  for (const line of table(comparisonRows(comparison))) out(line);
  const differing = comparison.rows.filter((r) => r.differs).length;
  out('');
  out(differing === 0 ? 'The runs have the same parameters and metrics.' : `* ${differing} of ${comparison.rows.length} rows differ.`);
  return 0;
}

/** Reports a lookup failure (exit code 2) and rethrows anything else. */
export function reportLocalError(command: string, err: unknown): number {
  if (err instanceof RunLookupError) {
    say(`flowbook ${command}: ${err.message}`);
    return 2;
  }
  throw err;
}

export function registerLocalRuns(program: Command, result: CommandResult): void {
  addKfpOptions(addLocalOptions(program.command('show')
    .description('Show one run: a local run\'s parameters, metrics, and each step with its time, cache and the values it passed on; kfp:RUN_ID shows a Kubeflow run')
    .argument('<run>', 'a run id, or the start of one; kfp:RUN_ID for a Kubeflow Pipelines run')
    .option('--json', 'print JSON')))
    .action(async (run: string, flags: LocalFlags & KfpFlags) => {
      if (run.startsWith(KFP_PREFIX)) {
        result.code = await kfpRunsCommand(run.slice(KFP_PREFIX.length), flags);
        return;
      }
      try {
        result.code = showLocalRun(run, flags);
      } catch (err) {
        result.code = reportLocalError('show', err);
      }
    });
  addKfpOptions(addLocalOptions(program.command('compare')
    .description('Put runs side by side: their parameters and metrics, differences marked *; local runs by id, Kubeflow runs as kfp:RUN_ID')
    .argument('<runs...>', 'two or more run ids (or starts of ids); kfp:RUN_ID for a Kubeflow Pipelines run')
    .option('--json', 'print JSON')))
    .action(async (runs: string[], flags: LocalFlags & KfpFlags) => {
      if (runs.length < 2) {
        say('flowbook compare: give at least two runs (`flowbook runs --local` and `flowbook runs --target kfp` list them)');
        result.code = 2;
        return;
      }
      try {
        result.code = await compareLocalRuns(runs, flags);
      } catch (err) {
        result.code = err instanceof RunLookupError ? reportLocalError('compare', err) : reportKfpError('compare', err);
      }
    });
}
