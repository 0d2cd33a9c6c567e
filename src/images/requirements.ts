// Requirement resolution: what must be pip-installed on top of a base image so every step
// imports what the notebook imported. Sources, strongest first: `%pip install` lines in the
// notebook, `requirements.txt` next to it, then the imports themselves (mapped to
// distributions, standard library and local modules left out). Unpinned entries are pinned
// to the versions installed in the user's interpreter. The output is sorted and
// deterministic for a given notebook and interpreter.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { cellLabel } from '../converter/diagnostics';
import { RUNTIME_DISTRIBUTIONS } from '../converter/emit/runtime';
import type { Pipeline, PipRequirement } from '../converter/ir';
import { tableDistribution } from './distributions';
import { ImageError } from './errors';
import { probeInterpreter, type InterpreterReport } from './interpreter';
import { canonicalName, parseRequirement, pinRequirement, readRequirementsFile, type RequirementSpec } from './requirementSpec';
import { STDLIB_MODULES } from './stdlib';

/** Where a requirement came from, for the confirmation view and for messages. */
export type RequirementSource =
  | { kind: 'pip'; cell: number; line: number }
  | { kind: 'file'; file: string }
  | { kind: 'import'; modules: string[] }
  /** The step runtime itself needs it (cloudpickle passes values between steps). */
  | { kind: 'runtime' };

export interface ResolvedRequirement {
  /** The line that goes into requirements.txt, e.g. `scikit-learn==1.4.2`. */
  requirement: string;
  /** PEP 503 name, or the text itself for a nameless URL. */
  key: string;
  source: RequirementSource;
  /** True when the version is fixed (pinned here or by the user, or a URL). */
  pinned: boolean;
}

export interface ResolvedRequirements {
  /** What `--print-requirements` prints and the image installs: options first, then requirements sorted by name. */
  lines: string[];
  /** Global pip options from requirements.txt (`--extra-index-url ...`). */
  options: string[];
  entries: ResolvedRequirement[];
  /** Imports nobody could map to a distribution (also in `warnings`). */
  unknownImports: string[];
  /** Imports satisfied by `.py` files or folders next to the notebook. */
  localModules: string[];
  stdlibModules: string[];
  /** One sentence each, naming what to do. */
  warnings: string[];
  /** The interpreter the versions came from; undefined when it could not be run. */
  interpreter?: { python: string; executable: string; version: string };
}

export interface RequirementsInput {
  /** Top-level modules the code imports. */
  modules: readonly string[];
  /** `pip install` lines lifted out of the notebook. */
  pip: readonly PipRequirement[];
  /** The notebook's folder: local modules and requirements.txt are looked up here. */
  notebookDir: string;
  /** Distributions the step runtime needs whatever the notebook imports. */
  runtime?: readonly string[];
}

export interface ResolveOptions {
  /** The interpreter the notebook runs with; default `python3`. */
  python?: string;
  /** A requirements file to merge; default `<notebookDir>/requirements.txt` when it exists; `false` for none. */
  requirementsFile?: string | false;
  signal?: AbortSignal;
}

/** Resolves the requirements of a whole pipeline: every step gets the same set (one image per base image). */
export function resolvePipelineRequirements(pipeline: Pipeline, options: ResolveOptions = {}): Promise<ResolvedRequirements> {
  return resolveRequirements(
    { modules: pipeline.modules, pip: pipeline.requirements, notebookDir: path.dirname(path.resolve(pipeline.notebookPath)), runtime: RUNTIME_DISTRIBUTIONS },
    options,
  );
}

interface Explicit {
  spec: RequirementSpec;
  source: RequirementSource;
  where: string;
}

export async function resolveRequirements(input: RequirementsInput, options: ResolveOptions = {}): Promise<ResolvedRequirements> {
  const python = options.python ?? 'python3';
  const warnings: string[] = [];
  const stdlibModules: string[] = [];
  const localModules: string[] = [];
  const candidates: string[] = [];
  for (const module of [...new Set(input.modules)].sort()) {
    if (STDLIB_MODULES.has(module)) stdlibModules.push(module);
    else if (isLocalModule(input.notebookDir, module)) localModules.push(module);
    else candidates.push(module);
  }

  const explicit: Explicit[] = [];
  const options_: string[] = [];
  /** A requirements file's lines join the explicit requirements; its pip options and left-out lines are kept too. */
  const mergeFile = (file: string, where: string) => {
    const parsed = readRequirementsFile(file);
    for (const spec of parsed.requirements) explicit.push({ spec, source: { kind: 'file', file }, where });
    for (const o of parsed.options) if (!options_.includes(o)) options_.push(o);
    for (const s of parsed.skipped) warnings.push(`${path.basename(s.file)} line ${s.line}: \`${s.text}\` is left out: ${s.reason}.`);
  };
  for (const pip of input.pip) {
    const where = `${cellLabel(pip.cell)} line ${pip.line}`;
    for (const text of pip.specs) {
      // `pip install -r requirements.txt` (Kale's usual install cell): the file's requirements, relative to the notebook.
      const include = /^(?:-r|--requirement)(?:\s+|=)(.+)$/.exec(text)?.[1]?.trim();
      if (include !== undefined) {
        const file = path.resolve(input.notebookDir, include);
        if (!fs.existsSync(file)) {
          warnings.push(`${where}: \`pip install -r ${include}\` names ${file}, which does not exist; its requirements are left out.`);
          continue;
        }
        mergeFile(file, `${path.basename(file)} (from ${where})`);
        continue;
      }
      if (text.startsWith('-')) continue;
      explicit.push({ spec: parseRequirement(text), source: { kind: 'pip', cell: pip.cell, line: pip.line }, where });
    }
  }
  const reqFile = options.requirementsFile === undefined ? defaultRequirementsFile(input.notebookDir) : options.requirementsFile || undefined;
  if (reqFile) {
    if (!fs.existsSync(reqFile)) throw new ImageError(`The requirements file ${reqFile} does not exist: check the path or leave the setting empty.`);
    mergeFile(reqFile, path.basename(reqFile));
  }

  let report: InterpreterReport | undefined;
  try {
    const names = explicit.map((e) => e.spec.name).filter((n): n is string => n !== undefined);
    for (const m of candidates) {
      const t = tableDistribution(m);
      if (t) names.push(t);
    }
    names.push(...(input.runtime ?? []));
    report = await probeInterpreter(python, candidates, names, options.signal);
  } catch (err) {
    if (!(err instanceof ImageError) || err.kind === 'cancelled') throw err;
    warnings.push(`${err.message} Versions are left unpinned and only well-known imports are mapped.`);
  }
  const installed = (name: string) => report?.versions[canonicalName(name)];

  // Explicit requirements: the first mention of a name wins; a different later one is reported.
  const byKey = new Map<string, ResolvedRequirement>();
  const firstWhere = new Map<string, Explicit>();
  const unpinned: string[] = [];
  for (const e of explicit) {
    const key = e.spec.key ?? e.spec.text;
    const first = firstWhere.get(key);
    if (first) {
      if (first.spec.text !== e.spec.text) {
        warnings.push(`\`${e.spec.name ?? key}\` is required twice: \`${first.spec.text}\` (${first.where}) and \`${e.spec.text}\` (${e.where}); the first is used. Remove one of them.`);
      }
      continue;
    }
    firstWhere.set(key, e);
    const version = e.spec.name ? installed(e.spec.name)?.version : undefined;
    const requirement = version ? pinRequirement(e.spec, version) : e.spec.text;
    if (!e.spec.fixed && !version && e.spec.name) unpinned.push(e.spec.name);
    byKey.set(key, { requirement, key, source: e.source, pinned: e.spec.fixed || version !== undefined });
  }

  // Imports: map to distributions, trusting the interpreter's metadata over the table.
  const unknownImports: string[] = [];
  for (const module of candidates) {
    const fromInterpreter = report?.modules[module] ?? [];
    const table = tableDistribution(module);
    const dists = fromInterpreter.length > 0 ? fromInterpreter : table ? [table] : [];
    if (dists.length === 0) {
      unknownImports.push(module);
      continue;
    }
    for (const dist of dists) {
      const key = canonicalName(dist);
      const existing = byKey.get(key);
      if (existing) {
        if (existing.source.kind === 'import') existing.source.modules.push(module);
        continue;
      }
      const info = installed(dist);
      if (!info) unpinned.push(dist);
      byKey.set(key, {
        requirement: info ? `${info.name}==${info.version}` : dist,
        key,
        source: { kind: 'import', modules: [module] },
        pinned: info !== undefined,
      });
    }
  }

  // What the runtime needs, unless the notebook already asks for it (its pin wins).
  for (const dist of input.runtime ?? []) {
    const key = canonicalName(dist);
    if (byKey.has(key)) continue;
    const info = installed(dist);
    if (!info) unpinned.push(dist);
    byKey.set(key, { requirement: info ? `${info.name}==${info.version}` : dist, key, source: { kind: 'runtime' }, pinned: info !== undefined });
  }

  const where = report ? `\`${python}\` (Python ${report.version})` : `\`${python}\``;
  if (unknownImports.length > 0) {
    warnings.push(
      `No package is known for these imports: ${unknownImports.join(', ')}. They are not in the standard library, not a .py file or folder next to the notebook, and not installed in ${where}. Add the packages to requirements.txt next to the notebook or a \`%pip install\` line.`,
    );
  }
  if (unpinned.length > 0 && report) {
    warnings.push(`Not installed in ${where}, so left unpinned: ${[...new Set(unpinned)].sort().join(', ')}. Install them there, or pin them in requirements.txt.`);
  }

  const entries = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.requirement < b.requirement ? -1 : 1));
  return {
    lines: [...options_, ...entries.map((e) => e.requirement)],
    options: options_,
    entries,
    unknownImports,
    localModules,
    stdlibModules,
    warnings,
    interpreter: report ? { python, executable: report.executable, version: report.version } : undefined,
  };
}

function defaultRequirementsFile(dir: string): string | undefined {
  const file = path.join(dir, 'requirements.txt');
  return fs.existsSync(file) ? file : undefined;
}

/** A module is local when `<dir>/<module>.py` or a folder `<dir>/<module>/` sits next to the notebook. */
function isLocalModule(dir: string, module: string): boolean {
  if (fs.existsSync(path.join(dir, `${module}.py`))) return true;
  try {
    return fs.statSync(path.join(dir, module)).isDirectory();
  } catch {
    return false;
  }
}
