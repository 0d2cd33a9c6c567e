// The Kubeflow Pipelines side of the CLI: `submit --target kfp`, `runs --target kfp` and
// `schedules --target kfp`. Endpoint and token come from options or the environment
// (FLOWBOOK_KFP_ENDPOINT, FLOWBOOK_KFP_NAMESPACE, FLOWBOOK_KFP_TOKEN: a token is never taken
// on the command line, where shells and process lists keep it). The Kubernetes client
// loads only when a token is requested through the kubeconfig.

import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Kfp from '../../kfp';
import { metricText, type ComparedRun } from '../../common/runCompare';
import { age, out, say, table } from './clusterCommon';

let loaded: typeof Kfp | undefined;

/** The KFP core, loaded on first use. */
export function kfp(): typeof Kfp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('../../kfp') as typeof Kfp;
  return loaded;
}

export interface KfpFlags {
  endpoint?: string;
  namespace?: string;
  tokenFile?: string;
  tokenFromKubeconfig?: boolean;
  serviceAccount?: string;
  caFile?: string;
  uiUrl?: string;
  kubeconfig?: string;
  context?: string;
  json?: boolean;
}

/** The options every `--target kfp` command takes. */
export function addKfpOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'with --target kfp: the Kubeflow address (https://kubeflow.example.com), the KFP API (http://localhost:8888), or "port-forward" (Flowbook runs kubectl port-forward to svc/ml-pipeline in kubeflow); default $FLOWBOOK_KFP_ENDPOINT, else in-cluster')
    .option('--token-file <file>', 'with --target kfp: a file holding the Bearer token (default: $FLOWBOOK_KFP_TOKEN)')
    .option('--token-from-kubeconfig', 'with --target kfp: request a service-account token with your kubeconfig (TokenRequest)')
    .option('--service-account <name>', 'with --token-from-kubeconfig: whose token (default: default-editor, every profile has it)')
    .option('--ca-file <file>', 'with --target kfp: the CA certificate of the endpoint (PEM)')
    .option('--ui-url <url>', 'with --target kfp: where the KFP UI is, for run links');
}

/** The settings the flags and the environment give, as the VS Code settings would. */
export function kfpSettings(flags: KfpFlags, env: NodeJS.ProcessEnv = process.env): Kfp.KfpSettings {
  const s: Kfp.KfpSettings = {};
  const endpoint = flags.endpoint ?? env.FLOWBOOK_KFP_ENDPOINT;
  const namespace = flags.namespace ?? env.FLOWBOOK_KFP_NAMESPACE;
  if (endpoint) s.endpoint = endpoint;
  if (namespace) s.namespace = namespace;
  if (flags.tokenFile) s.tokenFile = flags.tokenFile;
  else if (env.FLOWBOOK_KFP_TOKEN) s.token = env.FLOWBOOK_KFP_TOKEN;
  if (flags.tokenFromKubeconfig) s.tokenSource = 'kubeconfig';
  if (flags.serviceAccount) s.serviceAccount = flags.serviceAccount;
  if (flags.caFile) s.caFile = flags.caFile;
  if (flags.uiUrl) s.uiUrl = flags.uiUrl;
  return s;
}

/**
 * The client for the flags; with `--endpoint port-forward`, after starting `kubectl
 * port-forward` to KFP's API. `close` ends the forward and the client's connections.
 */
export async function openKfpClient(flags: KfpFlags): Promise<{ client: Kfp.KfpClient; close(): void }> {
  const k = kfp();
  const settings = kfpSettings(flags);
  let forward: Kfp.PortForward | undefined;
  if (settings.endpoint === k.PORT_FORWARD) {
    say('Starting kubectl port-forward -n kubeflow svc/ml-pipeline…');
    forward = await k.startPortForward({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) });
    settings.endpoint = forward.url;
  }
  try {
    const endpoint = k.resolveEndpoint(settings, {
      kubeTokens: (serviceAccount, namespace) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { serviceAccountTokens } = require('../../kfp/kubeToken') as typeof import('../../kfp/kubeToken');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const c = require('../../cluster') as typeof import('../../cluster');
        const connect: import('../../cluster').ConnectOptions = {};
        if (flags.kubeconfig) connect.kubeconfig = flags.kubeconfig;
        if (flags.context) connect.context = flags.context;
        return serviceAccountTokens(new c.ClusterClient(c.ClusterConnection.open(connect)), serviceAccount, namespace);
      },
    });
    const client = new k.KfpClient(endpoint);
    return {
      client,
      close: () => {
        client.dispose();
        forward?.dispose();
      },
    };
  } catch (err) {
    forward?.dispose();
    throw err;
  }
}

/** Prints an error the user can act on and returns the exit code (2: unusable input or settings). */
export function reportKfpError(command: string, err: unknown): number {
  const k = kfp();
  if (err instanceof k.KfpInputError || err instanceof k.ScheduleError) {
    say(`flowbook ${command}: ${err.message}`);
    return 2;
  }
  if (err instanceof k.KfpError) {
    say(`flowbook ${command}: ${err.message}`);
    return err.kind === 'config' ? 2 : 1;
  }
  // A kubeconfig problem while requesting a token.
  if (err instanceof Error && err.name === 'ClusterError') {
    say(`flowbook ${command}: ${err.message}`);
    return (err as Error & { kind?: string }).kind === 'config' ? 2 : 1;
  }
  throw err;
}

function parseParams(args: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new (kfp().KfpInputError)(`-p ${arg}: expected NAME=VALUE, e.g. -p learning_rate=0.01`);
    params[arg.slice(0, eq).trim()] = arg.slice(eq + 1);
  }
  return params;
}

export interface KfpSubmitFlags extends KfpFlags {
  param: string[];
  versionOnly?: boolean;
  schedule?: string;
  maxConcurrency?: string;
  catchup?: boolean;
  experiment?: string;
  requestId?: string;
}

/**
 * `flowbook submit INPUT --target kfp`: INPUT is a compiled KFP file, or a notebook compiled
 * by `compileNotebook`. Prints the run's (or schedule's) KFP UI link on stdout, else its id.
 */
export async function kfpSubmitCommand(input: string, flags: KfpSubmitFlags, compileNotebook: (file: string) => Promise<{ text: string; experiment?: string } | number>): Promise<number> {
  let closeClient: (() => void) | undefined;
  try {
    const k = kfp();
    let pkg: Kfp.CompiledPackage;
    let experiment = flags.experiment;
    if (input.endsWith('.ipynb')) {
      const compiled = await compileNotebook(input);
      if (typeof compiled === 'number') {
        if (compiled === 1) say('flowbook submit: fix the errors above; nothing was submitted.');
        return compiled;
      }
      pkg = k.readPackage(compiled.text, input);
      experiment ??= compiled.experiment;
    } else {
      let text: string;
      try {
        text = fs.readFileSync(input, 'utf8');
      } catch (err) {
        throw new k.KfpInputError(`Cannot read ${input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((err as NodeJS.ErrnoException).code)}.`);
      }
      pkg = k.readPackage(text, input);
    }
    const options: Kfp.KfpSubmitOptions = { parameters: parseParams(flags.param), progress: say };
    if (experiment) options.experiment = experiment;
    if (flags.versionOnly) options.versionOnly = true;
    if (flags.requestId) options.requestId = flags.requestId;
    if (flags.schedule !== undefined) {
      options.schedule = { crontab: flags.schedule, catchup: flags.catchup ?? false };
      if (flags.maxConcurrency !== undefined) options.schedule.maxConcurrency = Number(flags.maxConcurrency);
    } else if (flags.maxConcurrency !== undefined || flags.catchup) {
      throw new k.KfpInputError('--max-concurrency and --catchup go with --schedule "CRON".');
    }
    const source = input.endsWith('.ipynb') ? k.codeSourceUrl(path.resolve(input)) : undefined;
    if (source) options.codeSourceUrl = source;
    const { client, close } = await openKfpClient(flags);
    closeClient = close;
    say(`Submitting to Kubeflow Pipelines at ${client.endpoint.display}${client.namespace ? ` (profile ${client.namespace})` : ''}…`);
    const result = await k.submitToKfp(client, pkg, options);
    say(`Pipeline ${result.pipeline.name ?? pkg.pipelineName}, version ${result.version.name ?? ''}${result.versionUploaded ? ' (uploaded)' : ' (already there: not uploaded again)'}`);
    if (flags.versionOnly) {
      out(result.version.pipeline_version_id);
      return 0;
    }
    if (result.recurringRun) {
      const r = result.recurringRun;
      say(`Schedule ${r.display_name} (${r.trigger?.cron_schedule?.cron ?? ''} in KFP's 6-field form)${result.recurringRunCreated ? '' : ': it already existed, nothing was created'}`);
      for (const other of result.otherSchedules ?? []) {
        say(`note: schedule ${other.display_name} (${other.recurring_run_id}) still runs another version; stop it with \`flowbook schedules disable ${other.recurring_run_id} --target kfp\`.`);
      }
      out(result.url ?? r.recurring_run_id);
      return 0;
    }
    if (result.run && !result.runCreated) say(`This submission already exists as run ${result.run.run_id}: it was not submitted twice.`);
    say(`Run ${result.run?.display_name ?? ''} in experiment ${result.experiment?.display_name ?? ''}`);
    out(result.url ?? result.run?.run_id ?? '');
    return 0;
  } catch (err) {
    return reportKfpError('submit', err);
  } finally {
    closeClient?.();
  }
}

/** `flowbook runs --target kfp [RUN_ID]`: runs per experiment, or one run's tasks. */
export async function kfpRunsCommand(runId: string | undefined, flags: KfpFlags): Promise<number> {
  let closeClient: (() => void) | undefined;
  try {
    const { client, close } = await openKfpClient(flags);
    closeClient = close;
    const now = new Date();
    if (runId !== undefined) {
      const run = await client.getRun(runId);
      if (flags.json) {
        out(JSON.stringify(run, null, 2));
        return 0;
      }
      const url = kfp().runUrl(client.endpoint, run.run_id);
      out(`${run.display_name}  ${run.state ?? 'PENDING'}  created ${age(run.created_at, now)} ago${url ? `  ${url}` : ''}`);
      if (run.error?.message) out(`  ${run.error.message}`);
      const params = Object.entries(run.runtime_config?.parameters ?? {});
      if (params.length > 0) out(`  parameters: ${params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
      const metrics = (await runMetrics(client, [run])).get(run.run_id) ?? {};
      if (Object.keys(metrics).length > 0) out(`  metrics: ${metricsLine(metrics)}`);
      const rows = [['TASK', 'STATE', 'POD', 'MESSAGE']];
      for (const t of run.run_details?.task_details ?? []) rows.push([t.display_name ?? t.task_id ?? '', t.state ?? '', t.pod_name ?? '', t.error?.message ?? '']);
      for (const line of table(rows)) out(`  ${line}`);
      return run.state === 'FAILED' ? 1 : 0;
    }
    const experiments = await client.listExperiments();
    const all: { experiment: string; run: Kfp.Run }[] = [];
    for (const e of experiments) for (const run of await client.listRuns({ experimentId: e.experiment_id })) all.push({ experiment: e.display_name, run });
    if (flags.json) {
      out(JSON.stringify(all, null, 2));
      return 0;
    }
    if (all.length === 0) {
      out(`No runs in ${client.namespace ? `profile ${client.namespace}` : client.endpoint.display}.`);
      return 0;
    }
    const metrics = await runMetrics(client, all.map((a) => a.run));
    const rows = [['EXPERIMENT', 'RUN', 'STATE', 'TASKS', 'AGE', 'METRICS', 'ID']];
    for (const { experiment, run } of all) {
      const tasks = kfp().userTasks(run);
      rows.push([experiment, run.display_name, run.state ?? '', `${tasks.filter((t) => t.state === 'SUCCEEDED' || t.state === 'SKIPPED').length}/${tasks.length}`, age(run.created_at, now), metricsLine(metrics.get(run.run_id) ?? {}), run.run_id]);
    }
    for (const line of table(rows)) out(line);
    return 0;
  } catch (err) {
    return reportKfpError('runs', err);
  } finally {
    closeClient?.();
  }
}

/**
 * The metrics of runs, from ML Metadata in one request. A read that fails (no ML Metadata
 * route, 403) is a note on stderr, never a failure of the command.
 */
export async function runMetrics(client: Kfp.KfpClient, runs: readonly Kfp.Run[]): Promise<Map<string, Record<string, number>>> {
  const k = kfp();
  const ids = new Map(runs.map((r) => [r.run_id, [...k.metricsArtifactIds(r).values()].flat()]));
  const all = [...new Set([...ids.values()].flat())];
  if (all.length === 0) return new Map();
  try {
    const byId = new Map((await client.artifactsById(all)).map((a) => [a.id, a]));
    return new Map([...ids].map(([run, list]) => [run, k.metricsOf(list.flatMap((i) => byId.get(i) ?? []))]));
  } catch (err) {
    say(`note: ${k.metricsProblem(err)}`);
    return new Map();
  }
}

function metricsLine(metrics: Record<string, number>): string {
  return Object.keys(metrics).sort().map((n) => `${n}=${metricText(metrics[n] ?? NaN)}`).join(' ');
}

/** KFP runs (by id) as `flowbook compare` puts them beside local runs: runtime parameters and metrics. */
export async function kfpComparedRuns(runIds: readonly string[], flags: KfpFlags): Promise<ComparedRun[]> {
  const { client, close } = await openKfpClient(flags);
  try {
    const runs: Kfp.Run[] = [];
    for (const id of runIds) runs.push(await client.getRun(id));
    const metrics = await runMetrics(client, runs);
    return runs.map((r) => ({ id: r.run_id, label: `kfp:${kfp().splitRunName(r.display_name).key ?? r.run_id}`, parameters: { ...(r.runtime_config?.parameters ?? {}) }, metrics: metrics.get(r.run_id) ?? {} }));
  } finally {
    close();
  }
}

/** `flowbook stop|retry RUN_ID --target kfp`: terminate or retry a KFP run. */
export async function kfpRunActionCommand(action: 'terminate' | 'retry', runId: string, flags: KfpFlags): Promise<number> {
  let closeClient: (() => void) | undefined;
  const command = action === 'terminate' ? 'stop' : 'retry';
  try {
    const { client, close } = await openKfpClient(flags);
    closeClient = close;
    if (action === 'terminate') await client.terminateRun(runId);
    else await client.retryRun(runId);
    say(`Run ${runId}: ${action === 'terminate' ? 'terminating' : 'retrying its failed tasks'}.`);
    return 0;
  } catch (err) {
    return reportKfpError(command, err);
  } finally {
    closeClient?.();
  }
}

/** `flowbook schedules list|enable|disable|delete [ID] --target kfp`. */
export async function kfpSchedulesCommand(action: string, id: string | undefined, flags: KfpFlags): Promise<number> {
  let closeClient: (() => void) | undefined;
  try {
    const { client, close } = await openKfpClient(flags);
    closeClient = close;
    if (action === 'list') {
      const schedules = await client.listRecurringRuns();
      if (flags.json) {
        out(JSON.stringify(schedules, null, 2));
        return 0;
      }
      if (schedules.length === 0) {
        out(`No schedules in ${client.namespace ? `profile ${client.namespace}` : client.endpoint.display}.`);
        return 0;
      }
      const rows = [['NAME', 'STATUS', 'CRON', 'MAX CONCURRENCY', 'CATCHUP', 'ID']];
      for (const s of schedules) {
        rows.push([s.display_name, s.status ?? '', s.trigger?.cron_schedule?.cron ?? (s.trigger?.periodic_schedule ? `every ${s.trigger.periodic_schedule.interval_second}s` : ''), s.max_concurrency ?? '', s.no_catchup ? 'no' : 'yes', s.recurring_run_id]);
      }
      for (const line of table(rows)) out(line);
      return 0;
    }
    if (!id) throw new (kfp().KfpInputError)(`flowbook schedules ${action} needs the schedule's id (see \`flowbook schedules list --target kfp\`).`);
    if (action === 'delete') await client.deleteRecurringRun(id);
    else await client.setRecurringRunEnabled(id, action === 'enable');
    say(`Schedule ${id} ${action === 'delete' ? 'deleted' : `${action}d`}.`);
    return 0;
  } catch (err) {
    return reportKfpError('schedules', err);
  } finally {
    closeClient?.();
  }
}

