// Phase 2: a cell's tag strings → `CellTags`. The language is Kale's, as a superset:
// Kale notebooks compile unchanged. A tag that looks like ours but is misspelt is an error
// with a suggestion; tags of other tools (`hide-input`, `remove-cell`, ...) are kept and
// reported as information only.

import { Diagnostic, diag } from './diagnostics';
import type { CellRole, CellTags, StepOptions } from './ir';
import { parseDuration } from './duration';
import { closest } from './notebook';
import * as valid from './validate';

const ROLE_TAGS: Record<string, CellRole> = {
  imports: 'imports',
  functions: 'functions',
  'pipeline-parameters': 'parameters',
  parameters: 'parameters',
  'pipeline-metrics': 'metrics',
  skip: 'skip',
};

/** Prefixes of `key:value` tags. `block` is Kale's old name for `step`. */
const PREFIXES = ['step', 'block', 'prev', 'limit', 'annotation', 'label', 'image', 'cache', 'secret', 'retry', 'timeout', 'report', 'notebook'] as const;

/** Words a misspelt Flowbook tag is compared with, for "did you mean". */
const KNOWN_WORDS = [...Object.keys(ROLE_TAGS), ...PREFIXES];

/** Step names as Kale accepts them (`[_a-z][_a-z0-9]*`), plus capitals and hyphens. */
export const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Kubernetes resource names accepted in `limit:`; short forms map to the full name. */
const LIMIT_ALIASES: Record<string, string> = { gpu: 'nvidia.com/gpu', mem: 'memory' };

export function emptyOptions(): StepOptions {
  return { limits: {}, annotations: {}, labels: {}, secrets: [] };
}

/**
 * Parses the tags of one code cell. `cell` is the index used in diagnostics; pass
 * undefined for `steps_defaults`, which are reported against the notebook settings.
 */
export function parseCellTags(tags: readonly string[], cell: number | undefined, diagnostics: Diagnostic[]): CellTags {
  const result: CellTags = { cell: cell ?? -1, prev: [], options: emptyOptions(), foreign: [] };
  // Diagnostics on a cell carry its location; only steps_defaults need naming in the text.
  const where = cell === undefined ? 'steps_defaults: ' : '';
  const at = cell === undefined ? {} : { cell };
  const setRole = (role: CellRole, tag: string) => {
    if (result.role !== undefined && result.role !== role) {
      diagnostics.push(diag('FB102', `${where ? where : 'this cell '}has two roles: "${tag}" and an earlier ${describeRole(result.role)} tag. Keep one of them.`, at));
      return;
    }
    result.role = role;
  };
  const malformed = (tag: string, expected: string) =>
    diagnostics.push(diag('FB101', `${where}tag "${tag}" is malformed; expected ${expected}.`, at));
  /** Checks one part of a tag; false (after a diagnostic naming the part and its rule) when it is bad. */
  const checked = (tag: string, what: string, value: string, check: valid.Check): boolean => {
    const problem = check(value);
    if (problem) diagnostics.push(diag('FB101', `${where}tag "${tag}": the ${what} ${JSON.stringify(value)} is not valid: ${problem}.`, at));
    return problem === undefined;
  };

  for (const raw of tags) {
    const tag = raw.trim();
    if (tag === '') continue;
    const role = ROLE_TAGS[tag];
    if (role) {
      setRole(role, tag);
      continue;
    }
    const colon = tag.indexOf(':');
    const prefix = colon < 0 ? tag : tag.slice(0, colon);
    const rest = colon < 0 ? '' : tag.slice(colon + 1);
    if (colon < 0 || !(PREFIXES as readonly string[]).includes(prefix)) {
      const near = closest(prefix, KNOWN_WORDS);
      if (near && near !== prefix) {
        diagnostics.push(diag('FB101', `${where}unknown tag "${tag}"; did you mean "${colon < 0 ? near : `${near}:${rest}`}"?`, at));
      } else {
        result.foreign.push(tag);
        if (cell !== undefined) diagnostics.push(diag('FB100', `${where}tag "${tag}" is not a Flowbook tag and is ignored.`, at));
      }
      continue;
    }
    switch (prefix) {
      case 'step':
      case 'block': {
        setRole('step', tag);
        if (rest === '') break; // empty step:/block: continues the previous step
        if (!STEP_NAME.test(rest)) {
          diagnostics.push(diag('FB103', `${where}step name "${rest}" is invalid; use letters, digits, "_" and "-", starting with a letter or "_".`, at));
          break;
        }
        result.stepName = rest;
        break;
      }
      case 'prev': {
        const names = rest.split(':'); // legacy `prev:a:b` names two parents
        if (names.some((n) => !STEP_NAME.test(n))) {
          malformed(tag, '"prev:STEP" with the name of an earlier step');
          break;
        }
        for (const n of names) if (!result.prev.includes(n)) result.prev.push(n);
        break;
      }
      case 'limit': {
        const last = rest.lastIndexOf(':');
        const key = last < 0 ? '' : rest.slice(0, last);
        const value = last < 0 ? '' : rest.slice(last + 1);
        if (!key || !value) {
          malformed(tag, '"limit:RESOURCE:QUANTITY" such as "limit:memory:2Gi", "limit:cpu:500m" or "limit:nvidia.com/gpu:1"');
          break;
        }
        if (!checked(tag, 'resource name', LIMIT_ALIASES[key] ?? key, valid.qualifiedName) || !checked(tag, 'quantity', value, valid.quantity)) break;
        setOption(result.options.limits, LIMIT_ALIASES[key] ?? key, value, tag, where, at, diagnostics);
        break;
      }
      case 'annotation':
      case 'label': {
        const sep = rest.indexOf(':');
        const key = sep < 0 ? '' : rest.slice(0, sep);
        const value = sep < 0 ? '' : rest.slice(sep + 1);
        if (sep < 0) {
          malformed(tag, `"${prefix}:KEY:VALUE"`);
          break;
        }
        if (!checked(tag, `${prefix} key`, key, valid.qualifiedName)) break;
        if (!checked(tag, `${prefix} value`, value, prefix === 'label' ? valid.labelValue : valid.annotationValue)) break;
        setOption(prefix === 'label' ? result.options.labels : result.options.annotations, key, value, tag, where, at, diagnostics);
        break;
      }
      case 'image':
        if (!rest) malformed(tag, '"image:REFERENCE" such as "image:python:3.12-slim"');
        else if (checked(tag, 'image', rest, valid.imageReference)) result.options.image = rest;
        break;
      case 'cache':
        if (rest === 'enabled' || rest === 'disabled') result.options.cache = rest === 'enabled';
        else malformed(tag, '"cache:enabled" or "cache:disabled"');
        break;
      case 'secret': {
        const parts = rest.split(':');
        const [secret, key, env] = parts;
        if (parts.length !== 3 || !secret || !key || !env) {
          malformed(tag, '"secret:SECRET_NAME:KEY:ENV_VAR"');
          break;
        }
        if (!checked(tag, 'secret name', secret, valid.objectName) || !checked(tag, 'secret key', key, valid.secretKey) || !checked(tag, 'environment variable', env, valid.envName)) break;
        result.options.secrets.push({ secret, key, env });
        break;
      }
      case 'retry': {
        if (!/^\d+$/.test(rest)) malformed(tag, '"retry:N" with a whole number of retries');
        else result.options.retry = Number(rest);
        break;
      }
      case 'timeout': {
        const seconds = parseDuration(rest);
        if (seconds === undefined) malformed(tag, '"timeout:DURATION" such as "timeout:30m", "timeout:2h" or "timeout:90s"');
        else result.options.timeoutSeconds = seconds;
        break;
      }
      case 'report':
        if (rest !== 'enabled' && rest !== 'disabled') malformed(tag, '"report:enabled" or "report:disabled"');
        else if (cell !== undefined) diagnostics.push(diag('FB100', `${where}tag "${tag}" (Kale's run report) has no effect in Flowbook: run results show in VS Code.`, at));
        break;
      case 'notebook':
        diagnostics.push(diag('FB101', `${where}tag "${tag}" (a Kale sub-pipeline) is not supported by Flowbook yet; move that notebook's steps into this one.`, at));
        break;
    }
  }
  if (result.role === 'skip') result.prev = [];
  return result;
}

function setOption(
  target: Record<string, string>, key: string, value: string, tag: string, where: string,
  at: { cell?: number }, diagnostics: Diagnostic[],
): void {
  const old = target[key];
  if (old !== undefined && old !== value) {
    diagnostics.push(diag('FB108', `${where}tag "${tag}" overrides ${key}=${old} given earlier.`, at));
  }
  target[key] = value;
}

function describeRole(role: CellRole): string {
  switch (role) {
    case 'imports': return '"imports"';
    case 'functions': return '"functions"';
    case 'parameters': return '"pipeline-parameters"';
    case 'metrics': return '"pipeline-metrics"';
    case 'skip': return '"skip"';
    case 'step': return '"step:"';
  }
}

/** Options of `steps_defaults` overlaid with a step's own; the step's tags win. */
export function mergeOptions(base: StepOptions, own: StepOptions): StepOptions {
  const merged: StepOptions = {
    limits: { ...base.limits, ...own.limits },
    annotations: { ...base.annotations, ...own.annotations },
    labels: { ...base.labels, ...own.labels },
    secrets: [...base.secrets.filter((b) => !own.secrets.some((s) => s.env === b.env)), ...own.secrets],
  };
  const image = own.image ?? base.image;
  if (image !== undefined) merged.image = image;
  const cache = own.cache ?? base.cache;
  if (cache !== undefined) merged.cache = cache;
  const retry = own.retry ?? base.retry;
  if (retry !== undefined) merged.retry = retry;
  const timeout = own.timeoutSeconds ?? base.timeoutSeconds;
  if (timeout !== undefined) merged.timeoutSeconds = timeout;
  return merged;
}

/**
 * Maps a step name to a DNS-1123 label for Argo template and task names, deterministically:
 * lower case, "_" → "-", runs of "-" collapsed, trimmed to 63 characters.
 */
export function templateNameOf(step: string): string {
  let name = step.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  if (name === '') name = 'step';
  if (/^[0-9]/.test(name)) name = `s-${name}`;
  return name.slice(0, 63).replace(/-+$/, '');
}
