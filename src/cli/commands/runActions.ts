// `flowbook stop|retry|delete|resubmit RUN`: the run actions, through the Kubernetes API
// (no Argo Server needed). Each prints what it did in one line.

import type { Command } from 'commander';
import { Option } from 'commander';
import type { CommandResult } from '../main';
import { addClusterOptions, addRecordsOption, cluster, ClusterFlags, collect, connect, out, records, reportError, say } from './clusterCommon';
import { addKfpOptions, kfpRunActionCommand, KfpFlags } from './kfp';
import { followRun } from './submit';

function targetOption(): Option {
  return new Option('--target <target>', 'argo: a Workflow on the cluster; kfp: a Kubeflow Pipelines run').choices(['argo', 'kfp']).default('argo');
}

export function registerRunActions(program: Command, result: CommandResult): void {
  const stop = program
    .command('stop')
    .description('Stop a run: running steps finish, no new ones start (--terminate kills them)')
    .argument('<run>', 'the run name (with --target kfp: the KFP run id)')
    .option('--terminate', 'kill running steps at once')
    .addOption(targetOption());
  addKfpOptions(addClusterOptions(stop)).action(async (run: string, flags: ClusterFlags & KfpFlags & { terminate?: boolean; target: string }) => {
    if (flags.target === 'kfp') {
      result.code = await kfpRunActionCommand('terminate', run, flags);
      return;
    }
    try {
      const c = cluster();
      await c.stopRun(connect(flags), run, { ...(flags.namespace ? { namespace: flags.namespace } : {}), strategy: flags.terminate ? 'Terminate' : 'Stop' });
      say(`Run ${run}: ${flags.terminate ? 'terminating' : 'stopping'} (running steps ${flags.terminate ? 'are killed' : 'finish first'}).`);
      result.code = 0;
    } catch (err) {
      result.code = reportError('stop', err);
    }
  });

  const retry = program.command('retry').description('Retry the failed steps of a failed run, keeping the steps that succeeded').argument('<run>', 'the run name (with --target kfp: the KFP run id)').option('-w, --watch', 'follow the run to its end').addOption(targetOption());
  addKfpOptions(addRecordsOption(addClusterOptions(retry))).action(async (run: string, flags: ClusterFlags & KfpFlags & { watch?: boolean; target: string }) => {
    if (flags.target === 'kfp') {
      result.code = await kfpRunActionCommand('retry', run, flags);
      return;
    }
    try {
      const c = cluster();
      const client = connect(flags);
      const { deletedPods } = await c.retryRun(client, run, flags.namespace ? { namespace: flags.namespace } : {});
      say(`Run ${run}: retrying its failed steps (${deletedPods.length} failed pod${deletedPods.length === 1 ? '' : 's'} removed).`);
      result.code = flags.watch ? await followRun(client, records(flags), run, { namespace: client.namespace, printLogs: false }) : 0;
    } catch (err) {
      result.code = reportError('retry', err);
    }
  });

  const del = program.command('delete').description('Delete a run from the cluster (its local record and logs stay)').argument('<run>', 'the run name');
  addClusterOptions(del).action(async (run: string, flags: ClusterFlags) => {
    try {
      await cluster().deleteRun(connect(flags), run, flags.namespace ? { namespace: flags.namespace } : {});
      say(`Run ${run} deleted.`);
      result.code = 0;
    } catch (err) {
      result.code = reportError('delete', err);
    }
  });

  const resubmit = program
    .command('resubmit')
    .description('Start a new run from an old one, with other parameters, or reusing its succeeded steps')
    .argument('<run>', 'the run to start from')
    .option('-p, --param <NAME=VALUE>', 'set a pipeline parameter (repeat for several)', collect, [] as string[])
    .option('--memoized', 'reuse the steps that succeeded (the run must have failed)')
    .option('--from <step>', 're-run this step and everything after it, reusing the steps before it')
    .option('--request-id <id>', 'make a retried resubmit idempotent')
    .option('-w, --watch', 'follow the new run to its end; exit 1 if it fails');
  addRecordsOption(addClusterOptions(resubmit)).action(
    async (run: string, flags: ClusterFlags & { param: string[]; memoized?: boolean; from?: string; requestId?: string; watch?: boolean }) => {
      try {
        const c = cluster();
        const client = connect(flags);
        const res = await c.resubmitRun(client, run, {
          ...(flags.namespace ? { namespace: flags.namespace } : {}),
          parameters: c.parseParameterArgs(flags.param),
          ...(flags.memoized ? { memoized: true } : {}),
          ...(flags.from ? { fromStep: flags.from } : {}),
          ...(flags.requestId ? { requestId: flags.requestId } : {}),
        });
        for (const w of res.warnings) say(`warning: ${w}`);
        if (res.reused.length > 0) say(`Reusing ${res.reused.join(', ')} from ${run}.`);
        if (!res.created) say(`This resubmit already exists as run ${res.name}: it was not submitted twice.`);
        out(res.name);
        result.code = flags.watch ? await followRun(client, records(flags), res.name, { namespace: res.namespace, printLogs: false }) : 0;
      } catch (err) {
        result.code = reportError('resubmit', err);
      }
    },
  );
}
