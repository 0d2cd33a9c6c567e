// `flowbook clean [NOTEBOOK]`: deletes old local runs, keeping the newest `--keep` runs of
// each notebook and every run whose results a kept run reuses (src/runner/retention.ts).
// Exit codes: 0 done (also when there was nothing to delete), 2 unusable options.

import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from '../../common/bytes';
import { defaultRunsDir, fileProblem, pruneRuns } from '../../runner';
import type { CommandResult } from '../main';

/** Runs kept per notebook when `--keep` is not given. */
export const DEFAULT_KEEP = 10;

interface CleanFlags {
  keep?: string;
  dryRun?: boolean;
  runsDir?: string;
}

export function registerClean(program: Command, result: CommandResult): void {
  program
    .command('clean')
    .description(`Delete old local runs: keep the newest runs of each notebook (${DEFAULT_KEEP} unless --keep says otherwise) and the runs whose results they reuse`)
    .argument('[notebook]', 'only the runs of this .ipynb file (default: the runs of every notebook in the runs folder)')
    .option('--keep <n>', `how many runs of each notebook to keep (default ${DEFAULT_KEEP})`)
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('--runs-dir <dir>', 'the runs folder (default: .flowbook/runs next to the notebook, or in the current folder)')
    .action((notebook: string | undefined, flags: CleanFlags) => {
      result.code = clean(notebook, flags);
    });
}

function clean(notebook: string | undefined, flags: CleanFlags): number {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const keep = flags.keep === undefined ? DEFAULT_KEEP : Number(flags.keep);
  if (!Number.isInteger(keep) || keep < 1) {
    process.stderr.write(`flowbook clean: --keep ${flags.keep}: give a whole number of at least 1\n`);
    return 2;
  }
  const runsDir = path.resolve(flags.runsDir ?? (notebook !== undefined ? defaultRunsDir(notebook) : path.join('.flowbook', 'runs')));
  if (!fs.existsSync(runsDir)) {
    say(`no runs in ${runsDir}`);
    return 0;
  }
  let pruned;
  try {
    pruned = pruneRuns(runsDir, { keep, dryRun: flags.dryRun ?? false, ...(notebook !== undefined ? { notebook } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`flowbook clean: cannot delete runs in ${runsDir}: ${typeof e.code === 'string' ? fileProblem(e) : e.message}\n`);
    return 2;
  }
  const verb = flags.dryRun ? 'would delete' : 'deleted';
  for (const r of pruned.deleted) say(`${verb} ${r.id}  ${path.basename(r.notebook)}  ${r.status}`);
  for (const p of pruned.protected) say(`kept    ${p.run.id}  ${path.basename(p.run.notebook)}  (run ${p.neededBy} reuses its results)`);
  const n = pruned.deleted.length;
  say(`${flags.dryRun ? 'would delete' : 'deleted'} ${n} run${n === 1 ? '' : 's'}, ${formatBytes(pruned.bytes)}${flags.dryRun ? ' would be' : ''} freed; kept the newest ${keep} of each notebook in ${runsDir}`);
  return 0;
}
