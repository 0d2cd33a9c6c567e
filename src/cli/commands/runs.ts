// `flowbook runs [RUN]`: the cluster runs of a namespace (Flowbook's, or --all workflows),
// or one run's steps with their state, retries and notebook cells; with --local, or when no
// cluster is configured, the local runs with their parameters and metrics (localRuns.ts). `flowbook contexts`:
// the kubeconfig contexts, to pick one for --context.

import type { Command } from 'commander';
import { Option } from 'commander';
import type * as Cluster from '../../cluster';
import type { CommandResult } from '../main';
import { addKfpOptions, kfpRunsCommand, KfpFlags } from './kfp';
import { addClusterOptions, age, cluster, ClusterFlags, connect, out, reportError, table } from './clusterCommon';
import { addLocalOptions, clusterConfigured, listLocalRuns, reportLocalError, showLocalRun, type LocalFlags } from './localRuns';

interface RunsFlags extends ClusterFlags, KfpFlags, LocalFlags {
  all?: boolean;
  json?: boolean;
  local?: boolean;
  target: 'argo' | 'kfp';
}

export function registerRuns(program: Command, result: CommandResult): void {
  const cmd = program
    .command('runs')
    .description('List the runs on the cluster (local runs with --local, or when no cluster is configured), or show the steps of one run')
    .argument('[run]', 'a run name: show its steps')
    .option('--local', 'local runs (from `flowbook run`), with their parameters and metrics')
    .option('--all', 'all workflows of the namespace, not only Flowbook runs')
    .option('--json', 'print JSON')
    .addOption(new Option('--target <target>', 'argo: Workflows on the cluster; kfp: Kubeflow Pipelines runs per experiment').choices(['argo', 'kfp']).default('argo'));
  addLocalOptions(addKfpOptions(addClusterOptions(cmd))).action(async (run: string | undefined, flags: RunsFlags) => {
    if (flags.target === 'kfp') {
      result.code = await kfpRunsCommand(run, flags);
      return;
    }
    const local = flags.local === true || flags.runsDir !== undefined || flags.notebook !== undefined
      || (flags.kubeconfig === undefined && flags.context === undefined && !clusterConfigured());
    if (local) {
      try {
        result.code = run === undefined ? listLocalRuns(flags) : showLocalRun(run, flags);
      } catch (err) {
        result.code = reportLocalError('runs', err);
      }
      return;
    }
    try {
      result.code = run === undefined ? await listRuns(flags) : await showRun(run, flags);
    } catch (err) {
      result.code = reportError('runs', err);
    }
  });

  const ctx = program.command('contexts').description('List the kubeconfig contexts (the current one is marked *)').option('--kubeconfig <file>', 'kubeconfig file').option('--json', 'print JSON');
  ctx.action((flags: { kubeconfig?: string; json?: boolean }) => {
    try {
      const c = cluster();
      const conn = c.ClusterConnection.open(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {});
      const contexts = conn.contexts();
      if (flags.json) out(JSON.stringify(contexts, null, 2));
      else {
        const rows = [['', 'CONTEXT', 'NAMESPACE', 'AUTH', 'SERVER']];
        for (const x of contexts) rows.push([x.current ? '*' : '', x.name, x.namespace ?? 'default', x.execCommand ? `exec (${x.execCommand})` : x.authKind, x.server]);
        for (const line of table(rows)) out(line);
      }
      result.code = 0;
    } catch (err) {
      result.code = reportError('contexts', err);
    }
  });
}

async function listRuns(flags: RunsFlags): Promise<number> {
  const c = cluster();
  const client = connect(flags);
  const list = await client.list<Cluster.Workflow>(c.WORKFLOWS, client.namespace, flags.all ? {} : { labelSelector: c.FLOWBOOK_RUNS_SELECTOR });
  const now = new Date();
  const runs = list.items.map((w) => c.summarizeRun(w, now)).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  if (flags.json) {
    out(JSON.stringify(runs, null, 2));
    return 0;
  }
  if (runs.length === 0) {
    out(`No ${flags.all ? 'workflows' : 'Flowbook runs'} in ${client.connection.describe()}.`);
    return 0;
  }
  const rows = [['NAME', 'PHASE', 'PROGRESS', 'DURATION', 'AGE', 'MESSAGE']];
  for (const r of runs) {
    rows.push([r.name, r.stopping ? `${r.phase} (stopping)` : r.phase, `${r.progress.done}/${r.progress.total}`, c.formatDuration(r.durationSeconds), age(r.createdAt, now), r.message ?? '']);
  }
  for (const line of table(rows)) out(line);
  return 0;
}

async function showRun(name: string, flags: RunsFlags): Promise<number> {
  const c = cluster();
  const client = connect(flags);
  const wf = await client.get<Cluster.Workflow>(c.WORKFLOWS, client.namespace, name);
  const summary = c.summarizeRun(wf);
  const steps = c.stepStates(wf);
  if (flags.json) {
    out(JSON.stringify({ summary, steps }, null, 2));
    return 0;
  }
  out(`${summary.name}  ${summary.phase}${summary.stopping ? ' (stopping)' : ''}  ${summary.progress.done}/${summary.progress.total} steps  ${c.formatDuration(summary.durationSeconds)}`);
  if (summary.message) out(`  ${summary.message}`);
  const params = Object.entries(summary.parameters);
  if (params.length > 0) out(`  parameters: ${params.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  const rows = [['STEP', 'PHASE', 'DURATION', 'RETRIES', 'CELLS', 'MESSAGE']];
  for (const s of steps) {
    rows.push([s.step, s.phase, c.formatDuration(s.durationSeconds), String(s.retries), s.cells.map((x) => x + 1).join(','), s.phase === 'Cached' ? `reused from ${s.reusedFrom ?? 'an earlier run'}` : (s.message ?? '')]);
  }
  for (const line of table(rows)) out(`  ${line}`);
  return summary.phase === 'Failed' || summary.phase === 'Error' ? 1 : 0;
}
