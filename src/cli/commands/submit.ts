// `flowbook submit NOTEBOOK|WORKFLOW.yaml`: preflight, submit once, print the run's name on
// stdout (everything else goes to stderr, so `RUN=$(flowbook submit …)` works). With
// --watch it follows the run to its end, printing each step's state as it changes and
// keeping every step's log in the local run record; the exit code is 1 when the run fails.

import type { Command } from 'commander';
import { Option } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type * as Cluster from '../../cluster';
import type { CommandResult } from '../main';
import { addClusterOptions, addRecordsOption, cluster, ClusterFlags, collect, connect, out, records, reportError, say } from './clusterCommon';
import { compileKfpNotebookFile, type EmitOptions, type Pipeline } from '../../converter';
import { compileKfp, emitWorkflow, kfpYaml } from '../../converter/emit';
import { toYaml } from '../../converter/yaml';
import { addImageOptions, builtImages, checkFlags, compileOrReport, compileWarnings, type ImageFlags, printDiagnostics, printWarnings, reportInputError } from './compile';
import { addKfpOptions, kfpSubmitCommand, KfpSubmitFlags } from './kfp';

interface SubmitFlags extends ClusterFlags, KfpSubmitFlags, ImageFlags {
  param: string[];
  watch?: boolean;
  logs?: boolean;
  requestId?: string;
  preflight: boolean;
  target: 'argo' | 'kfp';
}

export function registerSubmit(program: Command, result: CommandResult): void {
  const cmd = program
    .command('submit')
    .description('Run the pipeline on a cluster: with Argo Workflows (checks the cluster first; prints the run name) or, with --target kfp, in Kubeflow Pipelines (prints the run\'s link)')
    .argument('<input>', 'a notebook (.ipynb, compiled first), a Workflow (.yaml/.json), or with --target kfp a compiled KFP pipeline (.yaml)')
    .addOption(new Option('--target <target>', 'where to run').choices(['argo', 'kfp']).default('argo'))
    .option('-p, --param <NAME=VALUE>', 'set a pipeline parameter (repeat for several)', collect, [] as string[])
    .option('-w, --watch', 'follow the run to its end; exit 1 if it fails')
    .option('--logs', 'with --watch: also print step logs as they arrive')
    .option('--request-id <id>', 'make a retried submit idempotent: the same id, input and parameters give the same run')
    .option('--no-preflight', 'skip the checks before submitting')
    .option('--schedule <cron>', 'run on a schedule instead of now: a 5-field crontab ("0 2 * * *") or @daily/@hourly/@weekly')
    .option('--max-concurrency <n>', 'with --schedule: at most this many runs at once (1-10)')
    .option('--catchup', 'with --schedule: also start the runs missed while the schedule was paused')
    .option('--version-only', 'with --target kfp: upload the pipeline version, start nothing')
    .option('--experiment <name>', 'with --target kfp: the experiment (default: the notebook setting, else the pipeline name)');
  addImageOptions(cmd);
  addKfpOptions(addRecordsOption(addClusterOptions(cmd))).action(async (input: string, flags: SubmitFlags) => {
    const problem = imageFlagProblem(input, flags);
    if (problem) {
      say(`flowbook submit: ${problem}`);
      result.code = 2;
      return;
    }
    result.code = flags.target === 'kfp' ? await kfpSubmitCommand(input, flags, (notebook) => compileForKfp(notebook, flags)) : await submitCommand(input, flags);
  });
}

/** The image options apply to a notebook only: a compiled file already names its images. */
function imageFlagProblem(input: string, flags: SubmitFlags): string | undefined {
  const given = ([['--image', flags.image], ['--registry', flags.registry], ['--python', flags.python], ['--insecure', flags.insecure]] as const).filter(([, v]) => v !== undefined).map(([f]) => f);
  if (!input.endsWith('.ipynb') && given.length > 0) return `${given[0]} applies to a notebook; ${input} is compiled already and names its images. Compile it again with the option, or submit the notebook.`;
  return checkFlags(flags);
}

/**
 * The steps' images for a notebook about to be submitted: the emit options with `--image` and,
 * with `--registry`, the images built for it (an exit code when a build failed).
 */
async function imageOptions(notebook: string, pipeline: Pipeline, base: EmitOptions, flags: SubmitFlags): Promise<EmitOptions | number> {
  const stepImages = await builtImages(notebook, pipeline, flags);
  if (typeof stepImages === 'number') return stepImages;
  return stepImages ? { ...base, stepImages } : base;
}

/** Compiles a notebook for KFP: the IR file's text and the notebook's experiment setting, or an exit code. */
async function compileForKfp(notebook: string, flags: SubmitFlags): Promise<{ text: string; experiment?: string } | number> {
  const base: EmitOptions = flags.image ? { image: flags.image } : {};
  let compiled;
  try {
    compiled = await compileKfpNotebookFile(notebook, base);
  } catch (err) {
    return reportInputError(notebook, err);
  }
  printDiagnostics(notebook, compiled.diagnostics, false);
  if (!compiled.kfp) return 1;
  const options = await imageOptions(notebook, compiled.pipeline, base, flags);
  if (typeof options === 'number') return options;
  const text = kfpYaml(options.stepImages ? compileKfp(compiled.pipeline, options) : compiled.kfp, notebook, toYaml);
  printWarnings(notebook, compileWarnings('kfp', compiled.pipeline, options, text, 'submit'));
  const experiment = compiled.pipeline.settings.experimentName ?? compiled.pipeline.experiment;
  return { text, ...(experiment ? { experiment } : {}) };
}

/** Reads a Workflow from YAML or JSON (the first document of kind Workflow). */
export function readWorkflowFile(file: string): Cluster.Workflow {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new (cluster().ClusterError)('config', `Cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : String(code)}.`);
  }
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      throw new (cluster().ClusterError)('config', `${file} is not valid YAML: ${e?.message.split('\n')[0] ?? 'syntax error'}.`);
    }
    const value = doc.toJS() as Partial<Cluster.Workflow> | null;
    if (value && value.kind === 'Workflow' && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('argoproj.io/')) {
      if (!value.spec || typeof value.spec !== 'object') throw new (cluster().ClusterError)('config', `${file}: the Workflow has no spec.`);
      return { ...value, metadata: value.metadata ?? {}, spec: value.spec } as Cluster.Workflow;
    }
  }
  throw new (cluster().ClusterError)('config', `${file} holds no Argo Workflow (apiVersion argoproj.io/v1alpha1, kind Workflow).`);
}

async function submitCommand(input: string, flags: SubmitFlags): Promise<number> {
  let workflow: Cluster.Workflow;
  let notebookPath: string | undefined;
  let pipelineName: string | undefined;
  let compiledPipeline: Pipeline | undefined;
  let emitOptions: EmitOptions = { ...(flags.namespace ? { namespace: flags.namespace } : {}), ...(flags.image ? { image: flags.image } : {}) };
  try {
    if (input.endsWith('.ipynb')) {
      const compiled = await compileOrReport(input, emitOptions, false);
      if (typeof compiled === 'number') {
        if (compiled === 1) say('flowbook submit: fix the errors above; nothing was submitted.');
        return compiled;
      }
      const options = await imageOptions(input, compiled.pipeline, emitOptions, flags);
      if (typeof options === 'number') {
        say('flowbook submit: nothing was submitted.');
        return options;
      }
      emitOptions = options;
      workflow = options.stepImages ? emitWorkflow(compiled.pipeline, options) as unknown as Cluster.Workflow : compiled.workflow;
      printWarnings(input, compileWarnings('argo', compiled.pipeline, options, toYaml(workflow), 'submit'));
      compiledPipeline = compiled.pipeline;
      notebookPath = path.resolve(input);
      pipelineName = compiled.pipeline.name;
    } else {
      workflow = readWorkflowFile(input);
    }
    const c = cluster();
    const parameters = c.parseParameterArgs(flags.param);
    const client = connect(flags);
    if (compiledPipeline && compiledPipeline.settings.dataPassing === undefined) {
      // No setting in the notebook: artifacts where the cluster has a repository, else a volume kept on one node.
      const probe = await c.detectArtifactRepository(client, flags.namespace ?? workflow.metadata.namespace ?? client.namespace);
      const plan = c.planDataPassing(probe, undefined);
      if (plan.mode === 'artifacts') workflow = emitWorkflow(compiledPipeline, { ...emitOptions, dataPassing: 'artifacts' }) as unknown as Cluster.Workflow;
      say(plan.message);
    }
    say(`Submitting to ${client.connection.describe()} (${client.connection.server})…`);
    if (flags.schedule !== undefined) return await scheduleOnArgo(client, workflow, flags, { parameters, notebookPath, pipelineName });
    const options: Cluster.SubmitOptions = { parameters, preflight: flags.preflight };
    if (flags.namespace) options.namespace = flags.namespace;
    if (flags.requestId) options.requestId = flags.requestId;
    if (notebookPath) options.notebookPath = notebookPath;
    if (pipelineName) options.pipelineName = pipelineName;
    const submitted = await c.submitWorkflow(client, workflow, options);
    for (const p of submitted.preflight?.problems ?? []) say(`warning [${p.check}] ${p.message}`);
    if (!submitted.created) say(`This submission already exists as run ${submitted.name}: it was not submitted twice.`);
    out(submitted.name);
    if (!flags.watch) return 0;
    return await followRun(client, records(flags, notebookPath), submitted.name, { namespace: submitted.namespace, printLogs: flags.logs ?? false });
  } catch (err) {
    return reportError('submit', err);
  }
}

/** `submit --schedule` on the Argo target: a CronWorkflow, printed by name. */
async function scheduleOnArgo(
  client: Cluster.ClusterClient,
  workflow: Cluster.Workflow,
  flags: SubmitFlags,
  from: { parameters: Record<string, string>; notebookPath: string | undefined; pipelineName: string | undefined },
): Promise<number> {
  const c = cluster();
  if (flags.watch) say('note: --watch does not apply to a schedule; use `flowbook runs` to see its runs.');
  const options: Cluster.ScheduleOptions = { crontab: flags.schedule ?? '', catchup: flags.catchup ?? false, parameters: from.parameters };
  if (flags.maxConcurrency !== undefined) options.maxConcurrency = Number(flags.maxConcurrency);
  if (flags.namespace) options.namespace = flags.namespace;
  if (from.notebookPath) options.notebookPath = from.notebookPath;
  if (from.pipelineName) options.pipelineName = from.pipelineName;
  const result = await c.scheduleWorkflow(client, workflow, options);
  for (const note of result.notes) say(`note: ${note}`);
  const cw = result.cronWorkflow;
  say(`${result.created ? 'Created' : 'Already there (not created twice):'} CronWorkflow ${cw.metadata.name ?? ''} in ${cw.metadata.namespace ?? ''}, schedules ${cw.spec.schedules.join(', ')}`);
  out(cw.metadata.name ?? '');
  return 0;
}

/**
 * Follows a run to its end: prints step states as they change, keeps each step's log in
 * the run record, and returns 0 when it succeeded, 1 otherwise.
 */
export async function followRun(client: Cluster.ClusterClient, store: Cluster.RunRecordStore, name: string, options: { namespace: string; printLogs: boolean }): Promise<number> {
  const c = cluster();
  const watcher = new c.RunWatcher(client, name, { namespace: options.namespace });
  const location = { context: client.connection.contextName, namespace: options.namespace, run: name };
  const streams = new Map<string, Cluster.StepLogStream>();
  const printed = new Map<string, string>();
  let lastError = '';
  try {
    const final = await new Promise<Cluster.RunDetail | undefined>((resolve) => {
      watcher.onDidChangeState((s) => {
        if (s.kind === 'retrying' && s.error.message !== lastError) {
          lastError = s.error.message;
          say(`  (connection problem, retrying: ${s.error.message})`);
        }
      });
      watcher.onDidChange((detail) => {
        if (!detail) {
          say(`Run ${name} was deleted.`);
          resolve(undefined);
          return;
        }
        store.saveRun(location, detail.workflow);
        for (const step of detail.steps) {
          const line = `${step.phase}${step.retries > 0 ? ` (retry ${step.retries})` : ''}`;
          if (printed.get(step.step) !== line) {
            printed.set(step.step, line);
            const time = step.durationSeconds !== undefined ? ` ${c.formatDuration(step.durationSeconds)}` : '';
            say(`  ${step.step.padEnd(20)} ${line}${time}${step.message && (step.phase === 'Failed' || step.phase === 'Error') ? `: ${step.message}` : ''}`);
          }
          const attempt = step.attempts[step.attempts.length - 1];
          if (attempt && step.podName && !streams.has(attempt.nodeId) && step.phase !== 'Cached') {
            const stream = new c.StepLogStream(client, store, { ...location, nodeId: attempt.nodeId, podName: step.podName, step: step.step });
            if (options.printLogs) stream.onDidAppend((text) => process.stderr.write(text.replace(/^(?=.)/gm, `  ${step.step} | `)));
            streams.set(attempt.nodeId, stream);
            void stream.start();
          }
        }
        if (c.isFinished(detail.summary.phase)) resolve(detail);
      });
      watcher.start();
    });
    // Let the log streams read the last lines the pods wrote (for a few seconds at most).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...streams.values()].map((s) => s.start())), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (!final) return 1;
    const s = final.summary;
    say(`Run ${name} ${s.phase}${s.durationSeconds !== undefined ? ` in ${c.formatDuration(s.durationSeconds)}` : ''}${s.message ? `: ${s.message}` : ''}`);
    if (s.phase === 'Succeeded') return 0;
    for (const step of final.steps.filter((x) => x.phase === 'Failed' || x.phase === 'Error')) {
      const attempt = step.attempts[step.attempts.length - 1];
      const kept = attempt ? store.readLog(location, attempt.nodeId, 4096) : undefined;
      if (kept && kept.text.trim()) {
        say(`--- last lines of step ${step.step} ---`);
        say(kept.text.trimEnd().split('\n').slice(-15).join('\n'));
      }
    }
    return 1;
  } finally {
    watcher.dispose();
    for (const s of streams.values()) s.dispose();
  }
}
