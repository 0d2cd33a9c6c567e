// Retention of local runs: each uncached run adds its data (a 2 GB array adds 2 GB), so the
// runs folder keeps the newest runs of each notebook and deletes older ones. A run that is
// still going, and a run whose results a kept run reuses (`cachedFrom`, `baseRun`), are
// never deleted. Reused outputs are hard links, so the bytes freed count only files with
// no link left in a kept run.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { listFiles } from './cache';
import { RunRecord, listRuns } from './record';

export interface PruneOptions {
  /** Only the runs of this notebook; default: every notebook with runs in the folder. */
  notebook?: string;
  /** Runs to keep per notebook, newest first (at least 1). */
  keep: number;
  /** Say what would be deleted, delete nothing. */
  dryRun?: boolean;
}

export interface PruneResult {
  /** Runs deleted (or, with `dryRun`, that would be), oldest last. */
  deleted: RunRecord[];
  /** Runs past `keep` that stay because a kept run reuses their results, with the run that needs each. */
  protected: { run: RunRecord; neededBy: string }[];
  /** Bytes freed on disk. */
  bytes: number;
}

/** Deletes the oldest runs of each notebook under `runsDir` beyond `keep` (see the module comment). */
export function pruneRuns(runsDir: string, options: PruneOptions): PruneResult {
  if (!Number.isInteger(options.keep) || options.keep < 1) throw new RangeError(`keep must be a whole number of at least 1, not ${options.keep}`);
  const runs = listRuns(runsDir, options.notebook === undefined ? {} : { notebook: options.notebook });
  const byNotebook = new Map<string, RunRecord[]>();
  for (const r of runs) byNotebook.set(r.notebook, [...(byNotebook.get(r.notebook) ?? []), r]);

  const kept = new Set<string>();
  const candidates: RunRecord[] = [];
  for (const list of byNotebook.values()) {
    list.forEach((r, i) => (i < options.keep || r.status === 'running' ? kept.add(r.id) : candidates.push(r)));
  }
  const neededBy = new Map<string, string>();
  for (const r of runs) {
    if (!kept.has(r.id)) continue;
    for (const source of [r.baseRun, ...r.steps.map((s) => s.cachedFrom)]) if (source !== undefined && !kept.has(source)) neededBy.set(source, r.id);
  }
  const result: PruneResult = { deleted: [], protected: [], bytes: 0 };
  const doomed: RunRecord[] = [];
  for (const r of candidates) {
    const by = neededBy.get(r.id);
    if (by !== undefined) result.protected.push({ run: r, neededBy: by });
    else doomed.push(r);
  }
  result.bytes = freedBytes(runsDir, doomed);
  for (const r of doomed) {
    if (!options.dryRun) fs.rmSync(path.join(runsDir, r.id), { recursive: true, force: true });
    result.deleted.push(r);
  }
  return result;
}

/** Bytes that deleting the folders of `runs` frees: files whose every hard link is among them. */
function freedBytes(runsDir: string, runs: readonly RunRecord[]): number {
  const inodes = new Map<string, { links: number; seen: number; size: number }>();
  for (const r of runs) {
    const dir = path.join(runsDir, r.id);
    for (const rel of listFiles(dir)) {
      const st = fs.statSync(path.join(dir, rel));
      const key = `${st.dev}:${st.ino}`;
      const entry = inodes.get(key) ?? { links: st.nlink, seen: 0, size: st.size };
      entry.seen++;
      inodes.set(key, entry);
    }
  }
  let bytes = 0;
  for (const e of inodes.values()) if (e.seen >= e.links) bytes += e.size;
  return bytes;
}
