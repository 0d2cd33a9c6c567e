// Submitting a Workflow as a Flowbook run, exactly once. The run is labelled (managed-by,
// pipeline, notebook, Flowbook version) so views can find it, and carries a submission
// label: a hash of the workflow, its parameter values and the caller's request id. Before
// creating, Flowbook looks for a run with that label; the run's name is derived from the
// same hash, so even two racing submits from different processes collide on the name
// (409) instead of creating two runs. A double click, or a retry after a timeout whose
// create did reach the server, returns the run that exists.

import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { VERSION } from '../version';
import type { ClusterClient } from './client';
import { sameNodeAffinity, usesReadWriteOnceVolume } from './dataPassing';
import { ClusterError } from './errors';
import { preflight, PreflightError, PreflightReport } from './preflight';
import {
  ANNOTATION_NOTEBOOK_PATH,
  ANNOTATION_STEP,
  apiVersionOf,
  LABEL_MANAGED_BY,
  LABEL_NOTEBOOK,
  LABEL_PIPELINE,
  LABEL_SUBMISSION,
  LABEL_VERSION,
  MANAGED_BY_VALUE,
  toDnsName,
  toLabelValue,
  WORKFLOWS,
} from './resources';
import type { Workflow, WorkflowParameter, WorkflowStatus } from './types';

export interface SubmitOptions {
  /** Namespace to run in; default: the workflow's, else the connection's. */
  namespace?: string;
  /** Parameter values as typed by the user (`-p NAME=VALUE`, the parameters form). */
  parameters?: Record<string, string>;
  /**
   * Identifies one user action (one click of "Run on Cluster", one CLI invocation). Repeating
   * a submit with the same id, workflow and parameters returns the same run. Default: random.
   */
  requestId?: string;
  notebookPath?: string;
  pipelineName?: string;
  /** Run the preflight checks first and refuse to submit when they find errors. Default true. */
  preflight?: boolean;
  /** More labels to set (resubmits name their origin this way). */
  labels?: Record<string, string>;
  /** Keep the run's pods on one node (see dataPassing.ts). Default: when its data volume is ReadWriteOnce. */
  sameNode?: boolean;
  /** Initial status for the run, given its final name (memoized resubmits seed reused steps this way). */
  statusFor?: (name: string) => WorkflowStatus;
  signal?: AbortSignal;
}

export interface SubmitResult {
  name: string;
  namespace: string;
  /** False when the run already existed (a repeated submit). */
  created: boolean;
  workflow: Workflow;
  submission: string;
  preflight?: PreflightReport;
}

export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

/** `NAME=VALUE` strings (repeatable `-p`) → a map; the value may contain `=`. */
export function parseParameterArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new ParameterError(`-p ${arg}: expected NAME=VALUE, e.g. -p learning_rate=0.01`);
    out[arg.slice(0, eq).trim()] = arg.slice(eq + 1);
  }
  return out;
}

/** Flowbook-compiled workflows carry parameter values as JSON; other workflows as plain strings. */
export function isFlowbookWorkflow(wf: Workflow): boolean {
  return (wf.spec.templates ?? []).some((t) => t.metadata?.annotations?.[ANNOTATION_STEP] !== undefined);
}

function jsonKind(text: string): 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object' | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    return typeof v as 'string' | 'number' | 'boolean' | 'object';
  } catch {
    return undefined;
  }
}

/**
 * The JSON text a Flowbook step will parse for `input`, judged by the parameter's default:
 * strings may be typed bare (`adam`), numbers, booleans, lists and dicts must be JSON.
 */
export function encodeParameter(name: string, input: string, current: string | undefined): string {
  const expected = current === undefined ? undefined : jsonKind(current);
  const given = jsonKind(input.trim());
  if (expected === 'string') return given === 'string' ? input.trim() : JSON.stringify(input);
  if (expected === 'boolean') {
    const v = input.trim().toLowerCase();
    if (v === 'true' || v === 'false') return v;
    throw new ParameterError(`Parameter ${name} is a bool (default ${current}); got "${input}". Use true or false.`);
  }
  if (expected === 'number') {
    if (given === 'number') return input.trim();
    throw new ParameterError(`Parameter ${name} is a number (default ${current}); got "${input}".`);
  }
  if (expected === 'array' || expected === 'object') {
    if (given === expected) return input.trim();
    throw new ParameterError(`Parameter ${name} is a ${expected === 'array' ? 'list' : 'dict'} (default ${current}); give it as JSON, e.g. ${expected === 'array' ? '[1, 2]' : '{"a": 1}'}.`);
  }
  // No or null default: JSON if it is JSON, else a string.
  return given === undefined ? JSON.stringify(input) : input.trim();
}

export interface ParameterField {
  name: string;
  /** The value as the form shows it: strings without their JSON quotes. */
  value: string;
  kind: 'string' | 'number' | 'boolean' | 'null' | 'list' | 'dict' | 'text';
}

/** The workflow's parameters for a "Run on Cluster" form, prefilled with their defaults. */
export function parameterFields(wf: Workflow): ParameterField[] {
  const flowbook = isFlowbookWorkflow(wf);
  return (wf.spec.arguments?.parameters ?? []).map((p) => {
    const raw = p.value ?? p.default ?? '';
    if (!flowbook) return { name: p.name, value: raw, kind: 'text' };
    const kind = jsonKind(raw);
    if (kind === 'string') return { name: p.name, value: JSON.parse(raw) as string, kind: 'string' };
    if (kind === 'array') return { name: p.name, value: raw, kind: 'list' };
    if (kind === 'object') return { name: p.name, value: raw, kind: 'dict' };
    return { name: p.name, value: raw, kind: kind ?? 'text' };
  });
}

/** Sets parameter values on a copy of the workflow's arguments; unknown names are an error. */
export function applyParameters(wf: Workflow, values: Record<string, string>): WorkflowParameter[] {
  const params = (wf.spec.arguments?.parameters ?? []).map((p) => ({ ...p }));
  const flowbook = isFlowbookWorkflow(wf);
  for (const [name, input] of Object.entries(values)) {
    const p = params.find((x) => x.name === name);
    if (!p) {
      const known = params.map((x) => x.name);
      throw new ParameterError(`The pipeline has no parameter "${name}". ${known.length > 0 ? `Its parameters: ${known.join(', ')}.` : 'It has no parameters.'}`);
    }
    p.value = flowbook ? encodeParameter(name, input, p.value ?? p.default) : input;
  }
  return params;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** Five `[a-z0-9]` characters from a hex hash, like the suffix Kubernetes' generateName adds. */
function suffixOf(hash: string): string {
  let n = BigInt(`0x${hash.slice(0, 16)}`);
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += 'abcdefghijklmnopqrstuvwxyz0123456789'[Number(n % 36n)];
    n /= 36n;
  }
  return out;
}

export interface PreparedRun {
  workflow: Workflow;
  namespace: string;
  submission: string;
}

/** The object that will be created: parameters applied, labels set, name derived from the submission hash. */
export function prepareRun(input: Workflow, options: SubmitOptions & { requestId: string }, fallbackNamespace: string): PreparedRun {
  const wf = structuredClone(input);
  wf.apiVersion ??= apiVersionOf(WORKFLOWS);
  wf.kind ??= WORKFLOWS.kind;
  const namespace = options.namespace ?? wf.metadata.namespace ?? fallbackNamespace;
  if (options.parameters && Object.keys(options.parameters).length > 0) {
    wf.spec.arguments = { ...(wf.spec.arguments ?? {}), parameters: applyParameters(wf, options.parameters) };
  }
  const base = toDnsName((wf.metadata.generateName ?? wf.metadata.name ?? options.pipelineName ?? 'flowbook-run').replace(/-+$/, ''), 57);
  const submission = crypto
    .createHash('sha256')
    .update(canonical({ base, spec: wf.spec, namespace, requestId: options.requestId }))
    .digest('hex')
    .slice(0, 40);
  const labels: Record<string, string> = { ...(wf.metadata.labels ?? {}) };
  labels[LABEL_MANAGED_BY] = MANAGED_BY_VALUE;
  labels[LABEL_VERSION] = toLabelValue(VERSION);
  labels[LABEL_SUBMISSION] = submission;
  const pipeline = toLabelValue(options.pipelineName ?? labels[LABEL_PIPELINE] ?? base);
  if (pipeline) labels[LABEL_PIPELINE] = pipeline;
  const annotations: Record<string, string> = { ...(wf.metadata.annotations ?? {}) };
  if (options.notebookPath) {
    const notebook = toLabelValue(path.basename(options.notebookPath));
    if (notebook) labels[LABEL_NOTEBOOK] = notebook;
    annotations[ANNOTATION_NOTEBOOK_PATH] = options.notebookPath;
  }
  for (const [k, v] of Object.entries(options.labels ?? {})) labels[k] = toLabelValue(v);
  wf.metadata = { ...wf.metadata, name: `${base}-${suffixOf(submission)}`, namespace, labels, annotations };
  if ((options.sameNode ?? usesReadWriteOnceVolume(wf)) && wf.metadata.name && wf.spec.affinity === undefined) wf.spec.affinity = sameNodeAffinity(wf.metadata.name);
  delete wf.metadata.generateName;
  delete wf.metadata.resourceVersion;
  delete wf.metadata.uid;
  delete wf.metadata.creationTimestamp;
  delete wf.status;
  if (options.statusFor) wf.status = options.statusFor(wf.metadata.name ?? '');
  return { workflow: wf, namespace, submission };
}

// Submits in flight on a client, by submission: a second click while the first create is
// still on the wire waits for it instead of racing it.
const inFlight = new WeakMap<ClusterClient, Map<string, Promise<SubmitResult>>>();

/** Submits `workflow` once (see the module comment). Throws `PreflightError`, `ParameterError` or `ClusterError`. */
export async function submitWorkflow(client: ClusterClient, workflow: Workflow, options: SubmitOptions = {}): Promise<SubmitResult> {
  const requestId = options.requestId ?? crypto.randomUUID();
  const prepared = prepareRun(workflow, { ...options, requestId }, client.namespace);
  const key = `${prepared.namespace} ${prepared.submission}`;
  let pending = inFlight.get(client);
  if (!pending) inFlight.set(client, (pending = new Map()));
  const running = pending.get(key);
  if (running) return running;
  const promise = submitOnce(client, prepared, options).finally(() => pending.delete(key));
  pending.set(key, promise);
  return promise;
}

async function findExisting(client: ClusterClient, prepared: PreparedRun, signal?: AbortSignal): Promise<Workflow | undefined> {
  try {
    const list = await client.list<Workflow>(WORKFLOWS, prepared.namespace, { labelSelector: `${LABEL_SUBMISSION}=${prepared.submission}`, signal });
    return list.items[0];
  } catch (err) {
    // Without list permission the derived name still stops a second run (409 on create).
    // Nor is there anything to find when Argo or the namespace is missing: preflight says so.
    if (err instanceof ClusterError && (err.kind === 'forbidden' || err.kind === 'namespaceNotFound' || err.kind === 'crdMissing')) return undefined;
    throw err;
  }
}

async function submitOnce(client: ClusterClient, prepared: PreparedRun, options: SubmitOptions): Promise<SubmitResult> {
  const { namespace, submission } = prepared;
  let report: PreflightReport | undefined;
  const existing = await findExisting(client, prepared, options.signal);
  if (existing) return { name: existing.metadata.name ?? '', namespace, created: false, workflow: existing, submission };
  if (options.preflight ?? true) {
    report = await preflight(client, prepared.workflow, { namespace, signal: options.signal });
    if (!report.ok) throw new PreflightError(report);
  }
  const result = (wf: Workflow, created: boolean): SubmitResult => ({ name: wf.metadata.name ?? '', namespace, created, workflow: wf, submission, ...(report ? { preflight: report } : {}) });

  let body = prepared.workflow;
  for (let attempt = 0; ; attempt++) {
    try {
      return result(await client.create<Workflow>(WORKFLOWS, namespace, body, { signal: options.signal }), true);
    } catch (err) {
      if (!(err instanceof ClusterError)) throw err;
      if (err.kind === 'alreadyExists') {
        const name = body.metadata.name ?? '';
        const other = await client.get<Workflow>(WORKFLOWS, namespace, name, options.signal);
        if (other.metadata.labels?.[LABEL_SUBMISSION] === submission) return result(other, false);
        // A different run took the name (a 1 in 60 million hash collision): pick another one.
        body = structuredClone(body);
        const fresh = `${name.replace(/-[a-z0-9]{5}$/, '')}-${suffixOf(crypto.randomBytes(8).toString('hex'))}`;
        body.metadata.name = fresh;
        if (options.statusFor) body.status = options.statusFor(fresh);
        continue;
      }
      // The create may have reached the server before the connection failed: look before trying again.
      if (err.transient && attempt < 3) {
        await client.pause(500 * 2 ** attempt, options.signal);
        const found = await findExisting(client, prepared, options.signal);
        if (found) return result(found, false);
        continue;
      }
      throw err;
    }
  }
}
