// Step caching: a step's cache key hashes what decides its result (script source,
// environment with parameter values, interpreter path and version, and the digests of
// every upstream step's output files). Equal keys make an old result a candidate; it
// stands in only while its output files are intact and what it read from outside is
// unchanged (reads.ts). Outputs are reused by hard-linking them into the new run folder
// (copying across devices).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SUMMARY_FILE, VALUES_FILE } from '../converter/emit/runtime';
import type { PythonInfo } from './python';
import type { OutputFile, StepRecord } from './record';
import type { StepPlan } from './workflow';

/** Bumped when the meaning of a key changes, so old runs never match. */
const KEY_VERSION = 3;

export function cacheKey(step: StepPlan, python: PythonInfo, upstreamDigests: Record<string, string>): string {
  const hash = crypto.createHash('sha256');
  const env = Object.keys(step.env).sort().map((k) => [k, step.env[k]]);
  const inputs = Object.keys(upstreamDigests).sort().map((k) => [k, upstreamDigests[k]]);
  hash.update(JSON.stringify({ v: KEY_VERSION, source: keySource(step.source), env, python: [python.executable, python.version], inputs }));
  return hash.digest('hex');
}

/**
 * The script without what only says where its code sits in the notebook (cell numbers in
 * the markers, the calls that run cells and the header comment): adding a markdown cell above a step renumbers its
 * cells but does not change what it computes.
 */
function keySource(source: string): string {
  return source
    .replace(/^#@flowbook cell=\d+( line=\d+)?$/gm, '#@flowbook cell')
    .replace(/^(_flowbook\.(?:cell|define)\((?:"[^"]*", "[^"]*", )?)\d+, /gm, '$1N, ')
    .replace(/^# Flowbook step .*$/m, '');
}

/** Files below `dir`, as sorted paths relative to it ('/'-separated). */
export function listFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) files.push(child);
    }
  };
  walk('');
  return files.sort();
}

/** Files up to this size are read whole; larger ones are streamed, so memory stays flat. */
const SMALL_FILE = 4 * 1024 * 1024;

/** SHA-256 over the names and contents of every file below `dir` (streamed, any size). */
export async function directoryDigest(dir: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const rel of listFiles(dir)) {
    const file = crypto.createHash('sha256');
    const full = path.join(dir, rel);
    if (fs.statSync(full).size <= SMALL_FILE) {
      hash.update(`${rel}\0${file.update(fs.readFileSync(full)).digest('hex')}\n`);
      continue;
    }
    await new Promise<void>((resolve, reject) => {
      fs.createReadStream(full)
        .on('data', (chunk) => file.update(chunk))
        .on('end', () => resolve())
        .on('error', reject);
    });
    hash.update(`${rel}\0${file.digest('hex')}\n`);
  }
  return hash.digest('hex');
}

/** Makes the files of `from` appear under `to` (created), hard-linked when possible. */
export function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const rel of listFiles(from)) {
    const target = path.join(to, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    try {
      fs.linkSync(path.join(from, rel), target);
    } catch {
      fs.copyFileSync(path.join(from, rel), target);
    }
  }
}

/** Hard-links (else copies) one file; a missing source is not an error. */
export function linkFile(from: string, to: string): void {
  if (!fs.existsSync(from)) return;
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
}

/**
 * True when `dir` holds a saved value named `variable`: in the step's bundle (`_values.pkl`,
 * whose names `_summary.json` lists when it could be written), or as `<variable>.<format>`.
 */
export function hasOutput(dir: string, variable: string): boolean {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return false;
  }
  if (files.includes(VALUES_FILE)) {
    try {
      const summary = JSON.parse(fs.readFileSync(path.join(dir, SUMMARY_FILE), 'utf8')) as { values?: Record<string, unknown> };
      return summary.values === undefined || Object.prototype.hasOwnProperty.call(summary.values, variable);
    } catch {
      return true; // the summary is best effort; the bundle is the record
    }
  }
  return files.some((f) => f.startsWith(`${variable}.`) && !f.endsWith('.tmp'));
}

/** The files below `dir` with their sizes and modification times. */
export function outputFiles(dir: string): OutputFile[] {
  return listFiles(dir).map((rel) => {
    const st = fs.statSync(path.join(dir, rel));
    return { path: rel, size: st.size, mtimeMs: st.mtimeMs };
  });
}

/**
 * True when the files of a step's result in `dir` are not as `old` left them: one is
 * missing or has another size, or (its time changed) the digest over all differs.
 */
export async function outputsChanged(dir: string, old: Pick<StepRecord, 'outputFiles' | 'outputDigest'>): Promise<boolean> {
  if (old.outputFiles === undefined) return old.outputDigest !== undefined && (await directoryDigest(dir)) !== old.outputDigest;
  const now = new Map(outputFiles(dir).map((f) => [f.path, f]));
  if (now.size !== old.outputFiles.length) return true;
  let touched = false;
  for (const f of old.outputFiles) {
    const current = now.get(f.path);
    if (!current || current.size !== f.size) return true;
    if (current.mtimeMs !== f.mtimeMs) touched = true;
  }
  return touched && old.outputDigest !== undefined && (await directoryDigest(dir)) !== old.outputDigest;
}
