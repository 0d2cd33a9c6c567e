// Pure edits of one cell's tag list, for the editor's tag commands. Each function takes the
// current `metadata.tags` and returns a new list; the input is never mutated. Invariants:
// tags of other tools are kept in place, the result stays in Kale's language (Kale reads it
// unchanged), and an edit that changes nothing returns an equal list.

import * as valid from './validate';
import { STEP_NAME } from './tags';

/** Tags that make a cell something other than a step. `parameters` is Flowbook's short form. */
const ROLE_WORDS = ['imports', 'functions', 'pipeline-parameters', 'parameters', 'pipeline-metrics', 'skip'] as const;

/** Prefixes of Flowbook's `key:value` tags (see tags.ts). */
const PREFIXES = ['step', 'block', 'prev', 'limit', 'annotation', 'label', 'image', 'cache', 'secret', 'retry', 'timeout', 'report', 'notebook'];

/** Prefixes that only mean something on a step cell. */
const STEP_ONLY = ['step', 'block', 'prev', 'limit', 'annotation', 'label', 'image', 'cache', 'secret', 'retry', 'timeout'];

export type MarkRole = 'imports' | 'functions' | 'pipeline-parameters' | 'pipeline-metrics' | 'skip';

/** The resources the Set Resources command edits, by the Kubernetes name written in `limit:`. */
export interface Resources {
  cpu?: string;
  memory?: string;
  gpu?: string;
}

const RESOURCE_KEYS: Record<keyof Resources, string[]> = {
  cpu: ['cpu'],
  memory: ['memory', 'mem'],
  gpu: ['nvidia.com/gpu', 'gpu'],
};
/** The spelling written for each resource: the full Kubernetes name, as Kale writes it. */
const RESOURCE_NAME: Record<keyof Resources, string> = { cpu: 'cpu', memory: 'memory', gpu: 'nvidia.com/gpu' };


function prefixOf(tag: string): string | undefined {
  const t = tag.trim();
  const colon = t.indexOf(':');
  return colon < 0 ? undefined : t.slice(0, colon);
}

/** True for a tag Flowbook reads (roles and `key:value` tags); false for other tools' tags. */
export function isFlowbookTag(tag: string): boolean {
  const t = tag.trim();
  if ((ROLE_WORDS as readonly string[]).includes(t)) return true;
  const prefix = prefixOf(t);
  return prefix !== undefined && PREFIXES.includes(prefix);
}

function isRoleTag(tag: string): boolean {
  const t = tag.trim();
  const prefix = prefixOf(t);
  return (ROLE_WORDS as readonly string[]).includes(t) || prefix === 'step' || prefix === 'block';
}

/** The step a cell's tags name (`step:NAME` or `block:NAME`), if any. */
export function stepNameOf(tags: readonly string[]): string | undefined {
  for (const tag of tags) {
    const prefix = prefixOf(tag);
    if (prefix === 'step' || prefix === 'block') {
      const name = tag.trim().slice(prefix.length + 1);
      if (name !== '') return name;
    }
  }
  return undefined;
}

/** Upstream steps named by `prev:` tags, in order, without duplicates (legacy `prev:a:b` names two). */
export function prevStepsOf(tags: readonly string[]): string[] {
  const result: string[] = [];
  for (const tag of tags) {
    if (prefixOf(tag) !== 'prev') continue;
    for (const name of tag.trim().slice('prev:'.length).split(':')) {
      if (name !== '' && !result.includes(name)) result.push(name);
    }
  }
  return result;
}

/**
 * The step prefix a notebook already uses: Kale's older `block:` when any cell has it (so a
 * Kale notebook stays consistent), else `step:`.
 */
export function preferredStepPrefix(allTags: readonly (readonly string[])[]): 'step' | 'block' {
  for (const tags of allTags) if (tags.some((t) => prefixOf(t) === 'block')) return 'block';
  return 'step';
}

/**
 * Makes the cell (the first cell of) step `name`: replaces any role tag with `PREFIX:name`,
 * placed first as Kale does; keeps `prev:`, options and other tools' tags.
 */
export function setStep(tags: readonly string[], name: string, prefix: 'step' | 'block' = 'step'): string[] {
  const kept = tags.filter((t) => !isRoleTag(t));
  return [`${prefix}:${name}`, ...kept];
}

/**
 * Gives the cell a role other than step. Tags that only mean something on a step (`step:`,
 * `prev:`, `limit:`, `image:` ...) are dropped; other tools' tags are kept.
 */
export function markAs(tags: readonly string[], role: MarkRole): string[] {
  const kept = tags.filter((t) => {
    if (isRoleTag(t)) return false;
    const prefix = prefixOf(t);
    return prefix === undefined || !STEP_ONLY.includes(prefix);
  });
  return [role, ...kept];
}

/** Adds `prev:STEP` after the cell's last role or `prev:` tag, unless the cell already names it. */
export function addPrev(tags: readonly string[], step: string): string[] {
  if (prevStepsOf(tags).includes(step)) return [...tags];
  let at = 0;
  tags.forEach((t, i) => {
    const prefix = prefixOf(t);
    if (isRoleTag(t) || prefix === 'prev') at = i + 1;
  });
  return [...tags.slice(0, at), `prev:${step}`, ...tags.slice(at)];
}

/** Removes STEP from the cell's `prev:` tags; a legacy `prev:a:b` keeps its other names. */
export function removePrev(tags: readonly string[], step: string): string[] {
  const result: string[] = [];
  for (const tag of tags) {
    if (prefixOf(tag) !== 'prev') {
      result.push(tag);
      continue;
    }
    const names = tag.trim().slice('prev:'.length).split(':').filter((n) => n !== step);
    if (names.length > 0) result.push(`prev:${names.join(':')}`);
  }
  return result;
}

/** The resources a cell's `limit:` tags set, by the names the Set Resources command shows. */
export function resourcesOf(tags: readonly string[]): Resources {
  const result: Resources = {};
  for (const tag of tags) {
    if (prefixOf(tag) !== 'limit') continue;
    const rest = tag.trim().slice('limit:'.length);
    const last = rest.lastIndexOf(':');
    if (last < 0) continue;
    const key = rest.slice(0, last);
    for (const [resource, keys] of Object.entries(RESOURCE_KEYS) as [keyof Resources, string[]][]) {
      if (keys.includes(key)) result[resource] = rest.slice(last + 1);
    }
  }
  return result;
}

/**
 * Sets resource limits. A resource given as a non-empty quantity replaces the cell's limit
 * for it (whatever spelling was used); an empty string removes it; an absent key leaves it.
 * Other `limit:` tags (e.g. `limit:ephemeral-storage:1Gi`) are kept.
 */
export function setResources(tags: readonly string[], resources: Resources): string[] {
  let result = [...tags];
  for (const resource of Object.keys(RESOURCE_KEYS) as (keyof Resources)[]) {
    const value = resources[resource];
    if (value === undefined) continue;
    const keys = RESOURCE_KEYS[resource];
    const tag = value.trim() === '' ? undefined : `limit:${RESOURCE_NAME[resource]}:${value.trim()}`;
    const next: string[] = [];
    let replaced = false;
    for (const t of result) {
      const key = limitKey(t);
      if (key === undefined || !keys.includes(key)) {
        next.push(t);
        continue;
      }
      // The first limit for this resource is replaced in place; duplicates are dropped.
      if (!replaced && tag !== undefined) next.push(tag);
      replaced = true;
    }
    if (!replaced && tag !== undefined) next.push(tag);
    result = next;
  }
  return result;
}

function limitKey(tag: string): string | undefined {
  if (prefixOf(tag) !== 'limit') return undefined;
  const rest = tag.trim().slice('limit:'.length);
  const last = rest.lastIndexOf(':');
  return last < 0 ? undefined : rest.slice(0, last);
}

/** The cell's `image:` tag value, if any. */
export function imageOf(tags: readonly string[]): string | undefined {
  const tag = tags.find((t) => prefixOf(t) === 'image');
  return tag?.trim().slice('image:'.length);
}

/** Sets (or, with an empty string, removes) the cell's `image:` tag, keeping its position. */
export function setImage(tags: readonly string[], image: string): string[] {
  const value = image.trim();
  const at = tags.findIndex((t) => prefixOf(t) === 'image');
  const result = tags.filter((t) => prefixOf(t) !== 'image');
  if (value === '') return result;
  result.splice(at < 0 ? result.length : at, 0, `image:${value}`);
  return result;
}

/** Removes every Flowbook tag; other tools' tags stay. */
export function clearFlowbookTags(tags: readonly string[]): string[] {
  return tags.filter((t) => !isFlowbookTag(t));
}

/**
 * Checks a step name typed by the user. Returns an error message, a Kale-compatibility
 * warning (`{ warning }`), or undefined when the name is fine everywhere.
 */
export function checkStepName(name: string): { error: string } | { warning: string } | undefined {
  const n = name.trim();
  if (n === '') return { error: 'Type a step name, for example "load_data".' };
  if (!STEP_NAME.test(n)) return { error: 'Use letters, digits, "_" and "-", starting with a letter or "_".' };
  if (!/^[_a-z][_a-z0-9]*$/.test(n)) return { warning: 'Kale accepts only lower-case letters, digits and "_"; Flowbook accepts this name.' };
  return undefined;
}

/** Checks a resource quantity such as `500m`, `2`, `4Gi`; empty means "remove the limit". */
export function checkQuantity(value: string): string | undefined {
  const v = value.trim();
  if (v === '' || valid.quantity(v) === undefined) return undefined;
  return `"${v}" is not a Kubernetes quantity; write for example 500m or 2 (CPU), 4Gi (memory), 1 (GPU), or leave empty to remove the limit.`;
}

/** Checks an image reference with the rules the notebook parser applies; empty means "remove the tag". */
export function checkImage(value: string): string | undefined {
  const v = value.trim();
  const problem = v === '' ? undefined : valid.imageReference(v);
  return problem === undefined ? undefined : `"${v}" is not an image reference: ${problem}.`;
}

/** True when two tag lists are the same, in order. */
export function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
