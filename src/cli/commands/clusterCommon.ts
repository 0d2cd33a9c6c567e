// What every cluster command shares: the --kubeconfig/--context/--namespace options, the
// connection, the lazily loaded cluster core (@kubernetes/client-node takes most of a
// second to load, which `flowbook compile` should not pay) and one way to report errors.
// Exit codes: 0 ok, 1 the run failed or the cluster refused, 2 unusable input or options.

import type { Command } from 'commander';
import type * as Cluster from '../../cluster';
import { ScheduleError } from '../../common/cron';

let loaded: typeof Cluster | undefined;

/** The cluster core, loaded on first use. */
export function cluster(): typeof Cluster {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('../../cluster') as typeof Cluster;
  return loaded;
}

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  records?: string;
}

export function addClusterOptions(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('-n, --namespace <name>', "namespace (default: the context's namespace, else default)");
}

export function addRecordsOption(cmd: Command): Command {
  return cmd.option('--records <dir>', 'where run records and step logs are kept (default: .flowbook/cluster in the current folder)');
}

export function connect(flags: ClusterFlags): Cluster.ClusterClient {
  const c = cluster();
  const options: Cluster.ConnectOptions = {};
  if (flags.kubeconfig) options.kubeconfig = flags.kubeconfig;
  if (flags.context) options.context = flags.context;
  if (flags.namespace) options.namespace = flags.namespace;
  return new c.ClusterClient(c.ClusterConnection.open(options));
}

export function records(flags: ClusterFlags, notebook?: string): Cluster.RunRecordStore {
  const c = cluster();
  return new c.RunRecordStore(flags.records ?? c.defaultClusterRecordsDir(notebook));
}

export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Prints an error the user can act on (never a stack trace for expected failures) and returns the exit code. */
export function reportError(command: string, err: unknown): number {
  const c = cluster();
  if (err instanceof c.PreflightError) {
    say(c.formatPreflight(err.report));
    say(`flowbook ${command}: nothing was submitted.`);
    return 1;
  }
  if (err instanceof c.ParameterError || err instanceof ScheduleError) {
    say(`flowbook ${command}: ${err.message}`);
    return 2;
  }
  if (err instanceof c.ClusterError) {
    say(`flowbook ${command}: ${err.message}`);
    return err.kind === 'config' ? 2 : 1;
  }
  throw err;
}

/** Left-aligned columns. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

export function age(iso: string | undefined, now = new Date()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return cluster().formatDuration(Math.max(0, Math.round((now.getTime() - t) / 1000)));
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
