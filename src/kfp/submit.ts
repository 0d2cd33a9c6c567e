// Submitting a compiled KFP pipeline, exactly once: find or create the pipeline by name,
// upload the compiled file as a version named by its content hash (the same file is never
// uploaded twice), find or create the experiment, then create the run or the recurring run.
// Every create is preceded by a look-up, and a create whose answer was lost (a dropped
// connection, a 5xx) or that collided (409) is followed by another look-up, so a double
// click or a retry finds what the first attempt made instead of making a second one.

import * as crypto from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { VERSION } from '../version';
import type { KfpClient } from './client';
import { checkMaxConcurrency, kfpCron } from '../common/cron';
import { recurringRunUrl, runUrl } from './endpoint';
import { KfpError } from './errors';
import type { Experiment, ParameterValue, Pipeline, PipelineVersion, RecurringRun, Run } from './types';

/** A pipeline parameter as `root.inputDefinitions.parameters` declares it. */
export interface IrParameter {
  parameterType: 'NUMBER_DOUBLE' | 'NUMBER_INTEGER' | 'STRING' | 'BOOLEAN' | 'LIST' | 'STRUCT';
  defaultValue?: ParameterValue;
  isOptional?: boolean;
}

/** What Flowbook needs from a compiled KFP file. */
export interface CompiledPackage {
  /** The file as uploaded (pipeline spec, and the platform spec when there is one). */
  text: string;
  pipelineName: string;
  parameters: Record<string, IrParameter>;
}

export class KfpInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KfpInputError';
  }
}

/** Reads a compiled KFP file: its first YAML document is the pipeline spec. */
export function readPackage(text: string, file = 'the compiled pipeline'): CompiledPackage {
  const docs = parseAllDocuments(text);
  const first = (Array.isArray(docs) ? docs : [docs])[0];
  if (!first || first.errors.length > 0) {
    throw new KfpInputError(`${file} is not valid YAML${first?.errors[0] ? `: ${first.errors[0].message.split('\n')[0]}` : ''}.`);
  }
  const spec = first.toJS() as { pipelineInfo?: { name?: unknown }; schemaVersion?: unknown; root?: { inputDefinitions?: { parameters?: Record<string, IrParameter> } } } | null;
  if (!spec || typeof spec !== 'object' || !spec.root || typeof spec.pipelineInfo?.name !== 'string') {
    throw new KfpInputError(`${file} is not a KFP pipeline (no pipelineInfo.name or root). Compile it with \`flowbook compile NOTEBOOK --target kfp\`.`);
  }
  return { text, pipelineName: spec.pipelineInfo.name, parameters: spec.root.inputDefinitions?.parameters ?? {} };
}

/**
 * The runtime parameter values for `-p NAME=VALUE` arguments, typed as the pipeline declares
 * them (KFP rejects a string where it expects a number). Throws `KfpInputError` naming the
 * parameter and the expected type.
 */
export function typedParameters(declared: Record<string, IrParameter>, given: Record<string, string>): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const name of Object.keys(given).sort()) {
    const text = given[name] as string;
    const decl = declared[name];
    if (!decl) {
      const known = Object.keys(declared).sort();
      throw new KfpInputError(`-p ${name}: the pipeline has no parameter "${name}"${known.length ? `; its parameters are ${known.join(', ')}` : ' (it has none)'}.`);
    }
    const fail = (what: string) => new KfpInputError(`-p ${name}=${text}: "${name}" is ${what}.`);
    switch (decl.parameterType) {
      case 'STRING':
        out[name] = text;
        break;
      case 'NUMBER_INTEGER': {
        if (!/^[-+]?\d+$/.test(text.trim())) throw fail('an integer, e.g. 10');
        out[name] = Number(text);
        break;
      }
      case 'NUMBER_DOUBLE': {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) throw fail('a number, e.g. 0.01');
        out[name] = n;
        break;
      }
      case 'BOOLEAN': {
        const t = text.trim().toLowerCase();
        if (t !== 'true' && t !== 'false') throw fail('true or false');
        out[name] = t === 'true';
        break;
      }
      case 'LIST':
      case 'STRUCT': {
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          throw fail(decl.parameterType === 'LIST' ? 'a list, written as JSON: e.g. [1, 2]' : 'a dict, written as JSON: e.g. {"a": 1}');
        }
        if (decl.parameterType === 'LIST' ? !Array.isArray(v) : v === null || typeof v !== 'object' || Array.isArray(v)) {
          throw fail(decl.parameterType === 'LIST' ? 'a list, written as JSON: e.g. [1, 2]' : 'a dict, written as JSON: e.g. {"a": 1}');
        }
        out[name] = v as ParameterValue;
        break;
      }
    }
  }
  return out;
}

export interface KfpSubmitOptions {
  /** The experiment runs go into (the notebook setting); default: the pipeline's name. */
  experiment?: string;
  /** `-p` values as typed. */
  parameters?: Record<string, string>;
  /** Only upload the version; no run. */
  versionOnly?: boolean;
  /** A recurring run instead of one run. */
  schedule?: { crontab: string; maxConcurrency?: number; catchup?: boolean };
  /** One user action (one click, one CLI invocation): repeating it with the same id gives the same run. Default: random. */
  requestId?: string;
  /** The notebook's web address at this commit (`code_source_url`). */
  codeSourceUrl?: string;
  description?: string;
  serviceAccount?: string;
  signal?: AbortSignal;
  /** Told about each phase, for progress lines. */
  progress?: (message: string) => void;
}

export interface KfpSubmitResult {
  pipeline: Pipeline;
  version: PipelineVersion;
  /** False when a version with this content existed already. */
  versionUploaded: boolean;
  experiment?: Experiment;
  run?: Run;
  /** False when this submission's run existed already (a repeated submit). */
  runCreated?: boolean;
  recurringRun?: RecurringRun;
  recurringRunCreated?: boolean;
  /** Schedules of this pipeline in the experiment that run another version. */
  otherSchedules?: RecurringRun[];
  /** The KFP UI page of the run or schedule, when the UI's address is known. */
  url?: string;
}

/** The version name for a compiled file: the pipeline's name and its content hash. */
export function versionName(pkg: CompiledPackage): string {
  return `${pkg.pipelineName}-${crypto.createHash('sha256').update(pkg.text).digest('hex').slice(0, 12)}`;
}

/** Uploads `pkg` (once) and starts a run or a schedule of it. Throws `KfpError`, `KfpInputError` or `ScheduleError`. */
export async function submitToKfp(client: KfpClient, pkg: CompiledPackage, options: KfpSubmitOptions = {}): Promise<KfpSubmitResult> {
  const signal = options.signal;
  const say = options.progress ?? (() => undefined);
  // Check everything the user typed before touching the server.
  const parameters = typedParameters(pkg.parameters, options.parameters ?? {});
  const cron = options.schedule ? kfpCron(options.schedule.crontab) : undefined;
  const maxConcurrency = options.schedule?.maxConcurrency !== undefined ? checkMaxConcurrency(options.schedule.maxConcurrency) : 1;

  say(`Looking for pipeline "${pkg.pipelineName}"…`);
  const pipeline = (
    await findOrCreate(
      () => client.findPipeline(pkg.pipelineName, signal),
      () => client.createPipeline(pkg.pipelineName, options.description ?? 'Compiled by Flowbook from a notebook.', signal),
    )
  ).value;

  const name = versionName(pkg);
  const description = [options.description, options.codeSourceUrl ? `Source: ${options.codeSourceUrl}` : undefined, `Compiled by Flowbook ${VERSION}.`].filter(Boolean).join('\n');
  const version = await findOrCreate(
    () => client.findVersion(pipeline.pipeline_id, name, signal),
    () => {
      say(`Uploading version ${name}…`);
      return client.uploadVersion(pipeline.pipeline_id, name, pkg.text, { description, signal });
    },
  );
  const result: KfpSubmitResult = { pipeline, version: version.value, versionUploaded: version.created };
  if (options.versionOnly) return result;

  const experimentName = options.experiment?.trim() || pkg.pipelineName;
  const experiment = (
    await findOrCreate(
      () => client.findExperiment(experimentName, signal),
      () => client.createExperiment(experimentName, `Runs of the notebook pipeline ${pkg.pipelineName}.`, signal),
    )
  ).value;
  result.experiment = experiment;
  const reference = { pipeline_id: pipeline.pipeline_id, pipeline_version_id: version.value.pipeline_version_id };
  const runtimeConfig = Object.keys(parameters).length > 0 ? { parameters } : {};

  if (cron) {
    // A schedule is one per version, crontab and parameters: submitting it again finds it.
    const key = submissionKey([version.value.pipeline_version_id, cron, parameters, maxConcurrency, options.schedule?.catchup ?? false]);
    const displayName = `${pkg.pipelineName} ${options.schedule?.crontab.trim()} ${key}`;
    let existing: RecurringRun[] | undefined;
    const schedule = await findOrCreate(
      async () => {
        const list = await client.listRecurringRuns({ experimentId: experiment.experiment_id, ...(signal ? { signal } : {}) });
        existing ??= list;
        return list.find((r) => r.display_name === displayName);
      },
      () => {
        const body: Omit<RecurringRun, 'recurring_run_id'> = {
          display_name: displayName,
          description: `Every "${options.schedule?.crontab.trim()}" (KFP cron "${cron}").`,
          experiment_id: experiment.experiment_id,
          pipeline_version_reference: reference,
          runtime_config: runtimeConfig,
          trigger: { cron_schedule: { cron } },
          max_concurrency: String(maxConcurrency),
          no_catchup: !(options.schedule?.catchup ?? false),
          mode: 'ENABLE',
        };
        if (client.namespace) body.namespace = client.namespace;
        if (options.serviceAccount) body.service_account = options.serviceAccount;
        return client.createRecurringRun(body, signal);
      },
    );
    result.recurringRun = schedule.value;
    result.recurringRunCreated = schedule.created;
    result.otherSchedules = (existing ?? []).filter(
      (r) => r.recurring_run_id !== schedule.value.recurring_run_id && r.pipeline_version_reference?.pipeline_id === pipeline.pipeline_id && r.status !== 'DISABLED',
    );
    const url = recurringRunUrl(client.endpoint, schedule.value.recurring_run_id);
    if (url) result.url = url;
    return result;
  }

  const requestId = options.requestId ?? crypto.randomUUID();
  const key = submissionKey([version.value.pipeline_version_id, parameters, requestId]);
  const displayName = `${pkg.pipelineName} ${key}`;
  const run = await findOrCreate(
    async () => (await client.listRuns({ experimentId: experiment.experiment_id, displayName, ...(signal ? { signal } : {}) }))[0],
    () => {
      say(`Creating run ${displayName}…`);
      const body: Omit<Run, 'run_id'> = {
        display_name: displayName,
        experiment_id: experiment.experiment_id,
        pipeline_version_reference: reference,
        runtime_config: runtimeConfig,
      };
      if (options.serviceAccount) body.service_account = options.serviceAccount;
      return client.createRun(body, signal);
    },
  );
  result.run = run.value;
  result.runCreated = run.created;
  const url = runUrl(client.endpoint, run.value.run_id);
  if (url) result.url = url;
  return result;
}

/** A short stable hash of what identifies one submission. */
function submissionKey(parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 10);
}

/**
 * Looks, creates when absent, and after a create that may or may not have happened (lost
 * answer, 5xx) or that collided (409) looks again before trying once more.
 */
async function findOrCreate<T>(find: () => Promise<T | undefined>, create: () => Promise<T>, attempts = 3): Promise<{ value: T; created: boolean }> {
  const found = await find();
  if (found) return { value: found, created: false };
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await create(), created: true };
    } catch (err) {
      if (!(err instanceof KfpError) || !(err.transient || err.kind === 'alreadyExists') || attempt >= attempts) throw err;
      const again = await find();
      if (again) return { value: again, created: err.kind !== 'alreadyExists' };
      if (err.kind === 'alreadyExists') throw err;
    }
  }
}
