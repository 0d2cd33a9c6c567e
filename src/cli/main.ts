// Entry point of the `flowbook` command line. Each subcommand lives in
// src/cli/commands/<name>.ts and registers itself on the program; an action resolves
// to the process exit code (0 ok, 1 the notebook or run has errors, 2 unusable input).

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version';
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
  { names: ['run'], load: () => [load<typeof import('./commands/run')>('./commands/run').registerRun] },
  { names: ['build'], load: () => [load<typeof import('./commands/build')>('./commands/build').registerBuild] },
  { names: ['submit'], load: () => [load<typeof import('./commands/submit')>('./commands/submit').registerSubmit] },
  { names: ['runs', 'contexts'], load: () => [load<typeof import('./commands/runs')>('./commands/runs').registerRuns] },
  { names: ['show', 'compare'], load: () => [load<typeof import('./commands/localRuns')>('./commands/localRuns').registerLocalRuns] },
  { names: ['logs'], load: () => [load<typeof import('./commands/logs')>('./commands/logs').registerLogs] },
  { names: ['stop', 'retry', 'delete', 'resubmit'], load: () => [load<typeof import('./commands/runActions')>('./commands/runActions').registerRunActions] },
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

export async function main(argv: string[]): Promise<number> {
  const result: CommandResult = { code: 0 };
  const program = new Command('flowbook')
    .description('Turn a tagged Jupyter notebook into a pipeline: run it locally, or compile it to an Argo Workflow for Kubernetes.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run `flowbook --help` for usage)')
    .exitOverride();
  for (const register of commandsFor(argv)) register(program, result);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  return result.code;
}
