// Phase 1: a notebook file's text → `Notebook`. Only nbformat 4 is accepted; input that is
// not a notebook at all throws `InputError` (CLI exit code 2). Anything wrong inside an
// otherwise readable notebook (a malformed cell, a bad setting) is a diagnostic, and the
// rest of the notebook is still read.

import * as valid from './validate';
import type { Check } from './validate';
import type * as nbformat from '@jupyterlab/nbformat';
import { Diagnostic, InputError, diag, cellLabel } from './diagnostics';
import type { CellKind, DataPassing, Notebook, NotebookCell, NotebookSettings, VolumeSetting } from './ir';
import { parseDuration } from './duration';

export interface ParsedNotebook {
  notebook: Notebook;
  diagnostics: Diagnostic[];
}

/** Parses notebook JSON. Throws `InputError` when the text is not a usable nbformat 4 notebook. */
export function parseNotebook(text: string, path: string): ParsedNotebook {
  let json: unknown;
  try {
    json = JSON.parse(stripBom(text));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InputError(diag('FB001', `the file is not valid JSON (${reason}). Open it in a text editor to repair it, or restore it from version control.`));
  }
  if (!isObject(json)) {
    throw new InputError(diag('FB003', `the file is not a notebook: it holds ${describe(json)}, not a JSON object with a "cells" array.`));
  }
  const major = json['nbformat'];
  if (typeof major === 'number' && major < 4) {
    throw new InputError(diag('FB002', `this is an nbformat ${major} notebook; Flowbook needs nbformat 4. Open it in Jupyter and save it again to upgrade it.`));
  }
  if (major !== 4) {
    throw new InputError(diag('FB002', `the notebook has nbformat ${JSON.stringify(major)}; Flowbook reads nbformat 4 notebooks.`));
  }
  const rawCells = json['cells'];
  if (!Array.isArray(rawCells)) {
    throw new InputError(diag('FB003', `the notebook has no "cells" array${'worksheets' in json ? ' (it looks like nbformat 3: save it again in Jupyter to upgrade it)' : ''}.`));
  }

  const diagnostics: Diagnostic[] = [];
  const cells = rawCells.map((raw, index) => readCell(raw, index, diagnostics));
  const metadata = isObject(json['metadata']) ? json['metadata'] : {};
  const settings = readNotebookSettings(metadata, diagnostics);
  const kernelspec = metadata['kernelspec'];
  const notebook: Notebook = {
    path,
    nbformat: major,
    nbformatMinor: typeof json['nbformat_minor'] === 'number' ? json['nbformat_minor'] : 0,
    cells,
    settings,
  };
  if (isObject(kernelspec) && typeof kernelspec['name'] === 'string') notebook.kernel = kernelspec['name'];
  return { notebook, diagnostics };
}

function readCell(raw: unknown, index: number, diagnostics: Diagnostic[]): NotebookCell {
  const at = { cell: index };
  if (!isObject(raw)) {
    diagnostics.push(diag('FB004', `${cellLabel(index)} is ${describe(raw)}, not a cell object; it is ignored.`, at));
    return { index, kind: 'raw', source: '', tags: [] };
  }
  const type = raw['cell_type'];
  let kind: CellKind;
  if (type === 'code' || type === 'markdown' || type === 'raw') {
    kind = type;
  } else {
    diagnostics.push(diag('FB004', `${cellLabel(index)} has cell_type ${JSON.stringify(type)}; expected "code", "markdown" or "raw". It is ignored.`, at));
    kind = 'raw';
  }
  const cell: NotebookCell = { index, kind, source: readSource(raw['source'], index, kind, diagnostics), tags: [] };
  if (typeof raw['id'] === 'string') cell.id = raw['id'];
  const metadata = raw['metadata'];
  if (isObject(metadata) && metadata['tags'] !== undefined) {
    const tags = metadata['tags'];
    if (!Array.isArray(tags)) {
      diagnostics.push(diag('FB004', `${cellLabel(index)} has metadata.tags that is not a list; its tags are ignored.`, at));
    } else {
      for (const tag of tags) {
        if (typeof tag === 'string') cell.tags.push(tag);
        else diagnostics.push(diag('FB004', `${cellLabel(index)} has a tag that is not a string (${describe(tag)}); it is ignored.`, at, 'warning'));
      }
    }
  }
  return cell;
}

function readSource(source: unknown, index: number, kind: CellKind, diagnostics: Diagnostic[]): string {
  if (typeof source === 'string') return source;
  if (Array.isArray(source) && source.every((s) => typeof s === 'string')) return (source as string[]).join('');
  if (source === undefined && kind !== 'code') return '';
  diagnostics.push(diag('FB004', `${cellLabel(index)} has a "source" that is neither a string nor a list of strings; it is treated as empty.`, { cell: index }));
  return '';
}

// ---------------------------------------------------------------------------
// Settings: Kale's `metadata.kubeflow_notebook`, then our own `metadata.flowbook` on top.

const FLOWBOOK_KEYS = ['pipelineName', 'experimentName', 'description', 'image', 'volumes', 'stepDefaults', 'enableCaching', 'timeout', 'dataPassing', 'volumeSize', 'storageClass', 'namespace', 'enabled'] as const;

/** Notebook settings from notebook-level metadata (Kale's `kubeflow_notebook`, then `flowbook`). */
export function readNotebookSettings(metadata: Record<string, unknown>, diagnostics: Diagnostic[]): NotebookSettings {
  const settings: NotebookSettings = { volumes: [], stepDefaults: [] };
  const kale = metadata['kubeflow_notebook'];
  if (kale !== undefined) {
    if (!isObject(kale)) {
      diagnostics.push(settingError('kubeflow_notebook', 'must be an object'));
    } else {
      const r = new SettingReader('kubeflow_notebook', kale, diagnostics);
      assign(settings, 'pipelineName', r.string('pipeline_name'));
      assign(settings, 'experimentName', r.string('experiment_name'));
      assign(settings, 'description', r.string('pipeline_description'));
      assign(settings, 'image', r.string('base_image', valid.imageReference) ?? r.string('docker_image', valid.imageReference));
      assign(settings, 'enableCaching', r.boolean('enable_caching'));
      assign(settings, 'timeoutSeconds', r.duration('timeout'));
      settings.stepDefaults = r.stringList('steps_defaults') ?? [];
      settings.volumes = readVolumes(kale['volumes'], 'kubeflow_notebook.volumes', diagnostics);
    }
  }
  const ours = metadata['flowbook'];
  if (ours !== undefined) {
    if (!isObject(ours)) {
      diagnostics.push(settingError('flowbook', 'must be an object'));
    } else {
      const r = new SettingReader('flowbook', ours, diagnostics);
      assign(settings, 'pipelineName', r.string('pipelineName'));
      assign(settings, 'experimentName', r.string('experimentName'));
      assign(settings, 'description', r.string('description'));
      assign(settings, 'image', r.string('image', valid.imageReference));
      assign(settings, 'enableCaching', r.boolean('enableCaching'));
      assign(settings, 'timeoutSeconds', r.duration('timeout'));
      assign(settings, 'volumeSize', r.string('volumeSize', valid.volumeSize));
      assign(settings, 'storageClass', r.string('storageClass', valid.objectName));
      assign(settings, 'namespace', r.string('namespace', valid.namespaceName));
      const dataPassing = r.string('dataPassing');
      if (dataPassing !== undefined) {
        if (dataPassing === 'volume' || dataPassing === 'artifacts') settings.dataPassing = dataPassing as DataPassing;
        else diagnostics.push(settingError('flowbook.dataPassing', `is ${JSON.stringify(dataPassing)}; use "volume" or "artifacts"`));
      }
      const defaults = r.stringList('stepDefaults');
      if (defaults) settings.stepDefaults = [...settings.stepDefaults, ...defaults];
      if (ours['volumes'] !== undefined) settings.volumes = readVolumes(ours['volumes'], 'flowbook.volumes', diagnostics);
      for (const key of Object.keys(ours)) {
        if (!(FLOWBOOK_KEYS as readonly string[]).includes(key)) {
          const hint = closest(key, FLOWBOOK_KEYS);
          diagnostics.push(diag('FB005', `notebook setting flowbook.${key} is unknown${hint ? `: did you mean flowbook.${hint}?` : ''} Known settings: ${FLOWBOOK_KEYS.join(', ')}.`, {}, 'warning'));
        }
      }
    }
  }
  return settings;
}

function readVolumes(raw: unknown, where: string, diagnostics: Diagnostic[]): VolumeSetting[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    diagnostics.push(settingError(where, 'must be a list'));
    return [];
  }
  const volumes: VolumeSetting[] = [];
  raw.forEach((v, i) => {
    const field = `${where}[${i}]`;
    if (!isObject(v)) {
      diagnostics.push(settingError(field, 'must be an object'));
      return;
    }
    const r = new SettingReader(field, v, diagnostics);
    const name = r.string('name', valid.objectName);
    const mountPoint = r.string('mount_point', valid.mountPath) ?? r.string('mountPoint', valid.mountPath);
    const type = r.string('type') ?? 'pvc';
    if (!name || !mountPoint) {
      if (!hasKey(v, 'name') || !(hasKey(v, 'mount_point') || hasKey(v, 'mountPoint'))) diagnostics.push(settingError(field, 'needs "name" and "mount_point"'));
      return;
    }
    let kind: VolumeSetting['type'];
    if (type === 'pv' || type === 'pvc' || type === 'new_pvc') {
      kind = type;
    } else if (type === 'clone') {
      // MiniKF's Kale clones the notebook's volume with a Rok snapshot for every run. Without
      // Rok the closest thing is the existing claim itself.
      diagnostics.push(diag('FB005',
        `notebook setting ${field} is a Kale "clone" volume (a Rok snapshot on MiniKF). Flowbook cannot snapshot volumes, so steps mount the existing claim "${name}" at ${mountPoint}; it must allow mounting from several pods (ReadWriteMany) while the notebook server runs. To choose otherwise, list volumes in metadata.flowbook.volumes.`,
        {}, 'warning'));
      kind = 'pvc';
    } else {
      diagnostics.push(settingError(`${field}.type`, `is ${JSON.stringify(type)}; use "pvc", "new_pvc", "pv" or "clone"`));
      return;
    }
    const volume: VolumeSetting = { name, mountPoint, type: kind };
    const size = v['size'];
    if (typeof size === 'number' || typeof size === 'string') {
      const unit = typeof v['size_type'] === 'string' ? v['size_type'] : '';
      const text = `${size}${unit}`;
      const problem = valid.volumeSize(text);
      if (problem) diagnostics.push(settingError(`${field}.size`, `is ${JSON.stringify(text)}: ${problem}`));
      else volume.size = text;
    }
    assign(volume, 'storageClass', r.string('storage_class_name', valid.objectName) ?? r.string('storageClass', valid.objectName));
    const modes = v['access_modes'] ?? v['accessModes'];
    const modeList = typeof modes === 'string' ? [modes] : Array.isArray(modes) && modes.every((m) => typeof m === 'string') ? modes as string[] : undefined;
    if (modeList) {
      const bad = modeList.find((m) => valid.accessMode(m) !== undefined);
      if (bad !== undefined) diagnostics.push(settingError(`${field}.access_modes`, `has ${JSON.stringify(bad)}: ${valid.accessMode(bad)}`));
      else volume.accessModes = modeList;
    }
    volumes.push(volume);
  });
  return volumes;
}

/** Reads typed fields of one settings object, reporting type mismatches by their full field name. */
class SettingReader {
  constructor(
    private readonly where: string,
    private readonly obj: Record<string, unknown>,
    private readonly diagnostics: Diagnostic[],
  ) {}

  /** The string at `key`; with `check`, a value that breaks its rule is reported (naming the setting) and dropped. */
  string(key: string, check?: Check): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string') {
      const problem = check?.(v);
      if (problem === undefined) return v;
      this.diagnostics.push(settingError(`${this.where}.${key}`, `is ${JSON.stringify(v)}: ${problem}`));
      return undefined;
    }
    this.diagnostics.push(settingError(`${this.where}.${key}`, `must be a string, not ${describe(v)}`));
    return undefined;
  }

  boolean(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.diagnostics.push(settingError(`${this.where}.${key}`, `must be true or false, not ${describe(v)}`));
    return undefined;
  }

  duration(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null || v === '' || v === 0) return undefined;
    const seconds = typeof v === 'number' || typeof v === 'string' ? parseDuration(String(v)) : undefined;
    if (seconds === undefined) {
      this.diagnostics.push(settingError(`${this.where}.${key}`, `must be a duration in seconds or like "30m", "2h", not ${describe(v)}`));
    }
    return seconds;
  }

  stringList(key: string): string[] | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    this.diagnostics.push(settingError(`${this.where}.${key}`, 'must be a list of strings'));
    return undefined;
  }
}

function settingError(field: string, problem: string): Diagnostic {
  return diag('FB005', `notebook setting ${field} ${problem}. Fix it in the notebook metadata.`);
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function hasKey(obj: Record<string, unknown>, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null && obj[key] !== '';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v === 'string' ? 'the string' : `the ${typeof v}`} ${JSON.stringify(v)?.slice(0, 40)}`;
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The candidate within edit distance 2 of `word`, if any: for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 3;
}

/** Serialises the kind of a notebook we read back to nbformat types (used by tests and the editor). */
export type RawNotebook = nbformat.INotebookContent;
