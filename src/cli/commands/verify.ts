// `flowbook verify`: runs the notebook straight through and the pipeline step by step, and
// compares what each step receives and passes on (src/verify). Exit codes: 0 identical,
// 1 different (or the notebook does not compile), 2 unusable input, 130 cancelled.

import type { Command } from 'commander';
import type { CommandResult } from '../main';
import { verifyNotebook } from '../../verify';
import { reportLines } from '../../verify/format';

interface VerifyFlags {
  param: string[];
  python?: string;
  jobs?: string;
  runsDir?: string;
  json?: boolean;
}

export function registerVerify(program: Command, result: CommandResult): void {
  program
    .command('verify')
    .description('Check that the pipeline gives what the notebook gives: run the notebook straight through and the pipeline step by step, and compare every value passed between steps and every metric')
    .argument('<notebook>', 'the .ipynb file')
    .option('-p, --param <NAME=VALUE>', 'set a pipeline parameter on both sides (repeat for several)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--python <path>', 'Python interpreter for both sides (default: $FLOWBOOK_PYTHON, else python3)')
    .option('-j, --jobs <n>', 'how many steps may run at once')
    .option('--runs-dir <dir>', 'where the pipeline run is recorded (default: .flowbook/runs next to the notebook)')
    .option('--json', 'print the report as one JSON object on stdout')
    .action(async (notebook: string, flags: VerifyFlags) => {
      result.code = await verifyCommand(notebook, flags);
    });
}

async function verifyCommand(notebook: string, flags: VerifyFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let jobs: number | undefined;
  if (flags.jobs !== undefined) {
    jobs = Number(flags.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) {
      say(`flowbook verify: --jobs ${flags.jobs}: give a whole number of at least 1`);
      return 2;
    }
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await verifyNotebook({
      notebook, parameterArgs: flags.param, python: flags.python ?? process.env.FLOWBOOK_PYTHON ?? 'python3',
      signal: abort.signal, onProgress: (m) => say(`flowbook verify: ${m}`),
      ...(jobs !== undefined ? { jobs } : {}), ...(flags.runsDir !== undefined ? { runsDir: flags.runsDir } : {}),
    });
    if (abort.signal.aborted) return 130;
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else for (const line of reportLines(report)) process.stdout.write(`${line}\n`);
    return report.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
