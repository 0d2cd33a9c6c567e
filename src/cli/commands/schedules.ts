// `flowbook schedules list|enable|disable|delete [NAME]`: the schedules `flowbook submit
// --schedule` made. On the Argo target (default) they are CronWorkflows, enabled and
// disabled through `spec.suspend`; with --target kfp, KFP recurring runs.

import type { Command } from 'commander';
import { Argument, Option } from 'commander';
import type { CommandResult } from '../main';
import { addClusterOptions, age, cluster, ClusterFlags, connect, out, reportError, say, table } from './clusterCommon';
import { addKfpOptions, kfpSchedulesCommand, KfpFlags } from './kfp';

interface SchedulesFlags extends ClusterFlags, KfpFlags {
  target: 'argo' | 'kfp';
  json?: boolean;
}

const ACTIONS = ['list', 'enable', 'disable', 'delete'];

export function registerSchedules(program: Command, result: CommandResult): void {
  const cmd = program
    .command('schedules')
    .description('List, enable, disable or delete the schedules made by `flowbook submit --schedule`')
    .addArgument(new Argument('<action>', 'what to do').choices(ACTIONS))
    .argument('[name]', 'the schedule (a CronWorkflow name, or with --target kfp a recurring run id)')
    .addOption(new Option('--target <target>', 'argo: CronWorkflows; kfp: Kubeflow Pipelines recurring runs').choices(['argo', 'kfp']).default('argo'))
    .option('--json', 'print JSON');
  addKfpOptions(addClusterOptions(cmd)).action(async (action: string, name: string | undefined, flags: SchedulesFlags) => {
    result.code = flags.target === 'kfp' ? await kfpSchedulesCommand(action, name, flags) : await argoSchedules(action, name, flags);
  });
}

async function argoSchedules(action: string, name: string | undefined, flags: SchedulesFlags): Promise<number> {
  try {
    const c = cluster();
    const client = connect(flags);
    const namespace = client.namespace;
    if (action === 'list') {
      const schedules = await c.listSchedules(client, namespace);
      if (flags.json) {
        out(JSON.stringify(schedules, null, 2));
        return 0;
      }
      if (schedules.length === 0) {
        out(`No Flowbook schedules in ${client.connection.describe()}.`);
        return 0;
      }
      const rows = [['NAME', 'STATUS', 'SCHEDULES', 'CONCURRENCY', 'LAST RUN']];
      for (const s of schedules) {
        rows.push([s.metadata.name ?? '', s.spec.suspend ? 'DISABLED' : 'ENABLED', s.spec.schedules.join(', '), s.spec.concurrencyPolicy ?? 'Allow', s.status?.lastScheduledTime ? `${age(s.status.lastScheduledTime)} ago` : 'never']);
      }
      for (const line of table(rows)) out(line);
      return 0;
    }
    if (!name) {
      say(`flowbook schedules ${action} needs the schedule's name (see \`flowbook schedules list\`).`);
      return 2;
    }
    if (action === 'delete') await c.deleteSchedule(client, namespace, name);
    else await c.setScheduleSuspended(client, namespace, name, action === 'disable');
    say(`Schedule ${name} ${action === 'delete' ? 'deleted' : `${action}d`}.`);
    return 0;
  } catch (err) {
    return reportError('schedules', err);
  }
}
