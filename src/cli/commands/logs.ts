// `flowbook logs RUN [STEP]`: a step's log from wherever it still is (the local run record,
// the pod, the archived log artifact), or a clear statement that it is gone. With
// --follow it streams the running step and keeps the text in the run record.

import type { Command } from 'commander';
import type * as Cluster from '../../cluster';
import type { CommandResult } from '../main';
import { addClusterOptions, addRecordsOption, cluster, ClusterFlags, connect, records, reportError, say } from './clusterCommon';

interface LogsFlags extends ClusterFlags {
  follow?: boolean;
}

export function registerLogs(program: Command, result: CommandResult): void {
  const cmd = program
    .command('logs')
    .description("Print a cluster run's step logs (kept locally, so they outlive the pods)")
    .argument('<run>', 'the run name')
    .argument('[step]', 'the step (default: every step, in order)')
    .option('-f, --follow', 'keep streaming while the step runs');
  addRecordsOption(addClusterOptions(cmd)).action(async (run: string, step: string | undefined, flags: LogsFlags) => {
    try {
      result.code = await logsCommand(run, step, flags);
    } catch (err) {
      result.code = reportError('logs', err);
    }
  });
}

async function logsCommand(run: string, stepName: string | undefined, flags: LogsFlags): Promise<number> {
  const c = cluster();
  const client = connect(flags);
  const store = records(flags);
  const location = { context: client.connection.contextName, namespace: client.namespace, run };
  let wf: Cluster.Workflow | undefined;
  try {
    wf = await client.get<Cluster.Workflow>(c.WORKFLOWS, client.namespace, run);
    store.saveRun(location, wf);
  } catch (err) {
    // A deleted run can still show the logs kept for it.
    if (!(err instanceof c.ClusterError && err.kind === 'notFound')) throw err;
    wf = store.readRun(location);
    if (!wf) throw err;
    say(`Run ${run} is no longer on the cluster; showing what was kept in ${store.runDir(location)}.`);
  }
  const steps = c.stepStates(wf);
  const chosen = stepName === undefined ? steps : steps.filter((s) => s.step === stepName || s.task === stepName);
  if (chosen.length === 0) {
    say(`flowbook logs: run ${run} has no step "${stepName}". Its steps: ${steps.map((s) => s.step).join(', ')}.`);
    return 2;
  }
  let missing = 0;
  for (const step of chosen) {
    if (chosen.length > 1) process.stdout.write(`==> ${step.step} (${step.phase}) <==\n`);
    const attempt = step.attempts[step.attempts.length - 1];
    if (flags.follow && attempt && step.podName && (step.phase === 'Running' || step.phase === 'Pending')) {
      const stream = new c.StepLogStream(client, store, { ...location, nodeId: attempt.nodeId, podName: step.podName, step: step.step });
      stream.onDidAppend((text) => process.stdout.write(text));
      const end = await stream.start();
      if (end.reason === 'error' && end.error) throw end.error;
      if (end.reason === 'podGone') say(`(the pod of step ${step.step} was deleted while following it; the log above is what was received)`);
      continue;
    }
    const log = await c.readStepLog(client, store, { ...location, workflow: wf }, step, { maxBytes: 64 * 1024 * 1024 });
    if (log.message) say(log.message);
    if (log.source === 'gone') missing++;
    process.stdout.write(log.text);
  }
  return missing > 0 && missing === chosen.length ? 1 : 0;
}
