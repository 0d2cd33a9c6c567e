// Requirement lines as pip reads them (PEP 508 names, extras, specifiers, markers, URLs) and
// `requirements.txt` files (comments, continuations, `-r` includes, global options). Parsing
// is only as deep as merging needs: the name, whether a version is already fixed, and the
// text to write back, which is kept as the user wrote it.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RequirementSpec {
  /** The requirement as written, whitespace-trimmed. */
  text: string;
  /** The project name as written; undefined for a bare URL or path without `#egg=`. */
  name?: string;
  /** PEP 503 normalised name: the key two specs are merged by. */
  key?: string;
  /** True when a version specifier, URL or path already decides what gets installed. */
  fixed: boolean;
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/s;

/** PEP 503: lower case, runs of `-`, `_`, `.` become one `-`. */
export function canonicalName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** Parses one requirement (`pandas==2.2.1`, `scikit-learn[alldeps]>=1.4; python_version>"3.8"`, `pkg @ https://...`). */
export function parseRequirement(line: string): RequirementSpec {
  const text = line.trim().replace(/\s+/g, ' ');
  if (looksLikeUrlOrPath(text)) {
    const egg = /#egg=([A-Za-z0-9._-]+)/.exec(text)?.[1] ?? wheelName(text);
    return egg ? { text, name: egg, key: canonicalName(egg), fixed: true } : { text, fixed: true };
  }
  const m = NAME.exec(text);
  if (!m) return { text, fixed: true };
  const name = m[1] as string;
  const rest = (m[3] ?? '').split(';')[0]?.trim() ?? '';
  // What follows the name and extras: `==1.0`, `(>=1,<2)`, `@ url`, or nothing.
  const fixed = rest.length > 0;
  return { text, name, key: canonicalName(name), fixed };
}

/** A requirement with its version pinned: `name[extras]==version; marker`. */
export function pinRequirement(spec: RequirementSpec, version: string): string {
  if (spec.fixed || !spec.name) return spec.text;
  const m = NAME.exec(spec.text);
  const extras = m?.[2] ?? '';
  const marker = spec.text.includes(';') ? '; ' + spec.text.slice(spec.text.indexOf(';') + 1).trim() : '';
  return `${spec.name}${extras}==${version}${marker}`;
}

function looksLikeUrlOrPath(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^(\.{0,2}\/|~\/)/.test(text) || /\.(whl|tar\.gz|zip)$/i.test(text);
}

function wheelName(text: string): string | undefined {
  const file = text.split(/[/\\]/).pop() ?? '';
  return /^([A-Za-z0-9][A-Za-z0-9._]*?)-\d[^/]*\.(whl|tar\.gz|zip)$/i.exec(file)?.[1];
}

export interface RequirementsFile {
  requirements: RequirementSpec[];
  /** Global pip options to keep (`--index-url ...`, `--extra-index-url ...`, `--find-links ...`, `--pre`). */
  options: string[];
  /** Lines left out, each with the reason, e.g. editable installs or constraint files. */
  skipped: { file: string; line: number; text: string; reason: string }[];
}

const KEPT_OPTIONS = /^(--index-url|-i|--extra-index-url|--find-links|-f|--trusted-host|--pre|--prefer-binary|--only-binary|--no-binary)\b/;

/**
 * Reads a requirements file, following `-r`/`--requirement` includes relative to the
 * including file. A missing include is reported in `skipped`, not thrown.
 */
export function readRequirementsFile(file: string, seen: Set<string> = new Set()): RequirementsFile {
  const out: RequirementsFile = { requirements: [], options: [], skipped: [] };
  const resolved = path.resolve(file);
  if (seen.has(resolved)) return out;
  seen.add(resolved);
  const text = fs.readFileSync(resolved, 'utf8');
  const lines = joinContinuations(text);
  for (const { line, number } of lines) {
    const stripped = line.replace(/(^|\s)#.*$/, '').trim();
    if (!stripped) continue;
    const include = /^(?:-r|--requirement)(?:\s+|=)(.+)$/.exec(stripped);
    if (include) {
      const target = path.resolve(path.dirname(resolved), (include[1] as string).trim());
      if (!fs.existsSync(target)) {
        out.skipped.push({ file: resolved, line: number, text: stripped, reason: `the included file ${target} does not exist` });
        continue;
      }
      const inner = readRequirementsFile(target, seen);
      out.requirements.push(...inner.requirements);
      out.options.push(...inner.options);
      out.skipped.push(...inner.skipped);
      continue;
    }
    if (KEPT_OPTIONS.test(stripped)) {
      out.options.push(stripped.replace(/\s+/g, ' '));
      continue;
    }
    if (stripped.startsWith('-')) {
      const reason = /^(-e|--editable)\b/.test(stripped)
        ? 'an editable install cannot go into an image; install the package normally or make it a local module next to the notebook'
        : 'pip options other than index and wheel settings are not used in image builds';
      out.skipped.push({ file: resolved, line: number, text: stripped, reason });
      continue;
    }
    out.requirements.push(parseRequirement(stripped));
  }
  return out;
}

function joinContinuations(text: string): { line: string; number: number }[] {
  const out: { line: string; number: number }[] = [];
  let pending = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!pending) start = i + 1;
    if (raw.endsWith('\\')) {
      pending += raw.slice(0, -1) + ' ';
      return;
    }
    out.push({ line: pending + raw, number: start });
    pending = '';
  });
  if (pending) out.push({ line: pending, number: start });
  return out;
}
