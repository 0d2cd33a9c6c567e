// Entry point of the `flowbook` command line. Each subcommand lives in
// src/cli/commands/<name>.ts and registers itself on the program; an action resolves
// to the process exit code (0 ok, 1 the notebook or run has errors, 2 unusable input).

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version';
import { describeFsCode, FileWriteError } from '../common/atomicFile';
/** A subcommand: adds itself to the program and records its exit code in `result`. */
export type Register = (program: Command, result: CommandResult) => void;

export interface CommandResult {
  code: number;
}

/**
 * The command modules, loaded only when their command runs: the cluster client alone takes
 * most of a second to load, and `flowbook compile` should not pay for it. `--help` and
 * unknown commands load them all.
 */
const COMMAND_MODULES: { names: string[]; load: () => Register[] }[] = [
  { names: ['compile', 'inspect'], load: () => { const m = load<typeof import('./commands/compile')>('./commands/compile'); return [m.registerCompile, m.registerInspect]; } },
  { names: ['verify'], load: () => [load<typeof import('./commands/verify')>('./commands/verify').registerVerify] },
  { names: ['run'], load: () => [load<typeof import('./commands/run')>('./commands/run').registerRun] },
  { names: ['clean'], load: () => [load<typeof import('./commands/clean')>('./commands/clean').registerClean] },
  { names: ['build'], load: () => [load<typeof import('./commands/build')>('./commands/build').registerBuild] },
  { names: ['submit'], load: () => [load<typeof import('./commands/submit')>('./commands/submit').registerSubmit] },
  { names: ['runs', 'contexts'], load: () => [load<typeof import('./commands/runs')>('./commands/runs').registerRuns] },
  { names: ['show', 'compare'], load: () => [load<typeof import('./commands/localRuns')>('./commands/localRuns').registerLocalRuns] },
  { names: ['logs'], load: () => [load<typeof import('./commands/logs')>('./commands/logs').registerLogs] },
  { names: ['stop', 'retry', 'delete', 'resubmit'], load: () => [load<typeof import('./commands/runActions')>('./commands/runActions').registerRunActions] },
  { names: ['schedules'], load: () => [load<typeof import('./commands/schedules')>('./commands/schedules').registerSchedules] },
  { names: ['isvc'], load: () => [load<typeof import('./commands/isvc')>('./commands/isvc').registerIsvc] },
];

/** `require` at the point of use (a dynamic `import()` would go through the ESM loader). */
function load<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

function commandsFor(argv: string[]): Register[] {
  const name = argv.find((a) => !a.startsWith('-'));
  const matching = COMMAND_MODULES.filter((m) => name !== undefined && m.names.includes(name));
  const modules = matching.length > 0 ? matching : COMMAND_MODULES;
  return modules.flatMap((m) => m.load());
}

/**
 * Runs the command line and resolves to the exit code; never rejects. An error that reaches
 * here is one line naming the path or field (exit 2 for a file that cannot be read or
 * written, 1 otherwise); `--debug` adds the stack trace.
 */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedOutput(process.stdout);
  ignoreClosedOutput(process.stderr);
  const debug = argv.includes('--debug');
  const result: CommandResult = { code: 0 };
  const program = new Command('flowbook')
    .description('Turn a tagged Jupyter notebook into a pipeline: run it locally, or compile it to an Argo Workflow for Kubernetes.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print the stack trace of an unexpected error')
    .showHelpAfterError('(run `flowbook --help` for usage)')
    .exitOverride();
  try {
    for (const register of commandsFor(argv)) register(program, result);
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    return reportUnexpected(err, debug);
  }
  return result.code;
}

/** One line for an error no command handled; the trace only with --debug. */
function reportUnexpected(err: unknown, debug: boolean): number {
  const fsError = fileSystemError(err);
  process.stderr.write(`flowbook: ${fsError ?? `internal error: ${err instanceof Error ? err.message : String(err)}`}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  else if (!fsError) process.stderr.write('flowbook: run again with --debug for the stack trace, and please report it.\n');
  return fsError ? 2 : 1;
}

/** The message of an error about a file or folder (writing output, a runs folder), or undefined. */
function fileSystemError(err: unknown): string | undefined {
  if (err instanceof FileWriteError) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  if (!(err instanceof Error) || typeof e?.code !== 'string' || typeof e.path !== 'string') return undefined;
  const verb = e.syscall === 'mkdir' ? 'create the folder' : e.syscall === 'open' || e.syscall === 'write' || e.syscall === 'rename' ? 'write' : 'use';
  return `cannot ${verb} ${e.path}: ${describeFsCode(e.code, err)}`;
}

/**
 * A reader that stops early (`flowbook compile big.ipynb | head -1`) closes the pipe: that is
 * not an error, so later writes go nowhere instead of crashing the process (and a run goes on
 * and records its result).
 */
function ignoreClosedOutput(stream: NodeJS.WriteStream): void {
  if (stream.listenerCount('error') > 0) return;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}
