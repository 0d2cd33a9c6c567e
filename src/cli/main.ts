// Entry point of the `flowbook` command line. Each subcommand lives in
// src/cli/commands/<name>.ts and registers itself on the program; an action resolves
// to the process exit code (0 ok, 1 the notebook or run has errors, 2 unusable input).

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version';
import { registerCompile, registerInspect } from './commands/compile';
import { registerRun } from './commands/run';
import { registerBuild } from './commands/build';
import { registerSubmit } from './commands/submit';
import { registerRuns } from './commands/runs';
import { registerLogs } from './commands/logs';
import { registerRunActions } from './commands/runActions';
import { registerIsvc } from './commands/isvc';

/** A subcommand: adds itself to the program and records its exit code in `result`. */
export type Register = (program: Command, result: CommandResult) => void;

export interface CommandResult {
  code: number;
}

const commands: Register[] = [registerCompile, registerInspect, registerRun, registerBuild, registerSubmit, registerRuns, registerLogs, registerRunActions, registerIsvc];

export async function main(argv: string[]): Promise<number> {
  const result: CommandResult = { code: 0 };
  const program = new Command('flowbook')
    .description('Turn a tagged Jupyter notebook into a pipeline: run it locally, or compile it to an Argo Workflow for Kubernetes.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run `flowbook --help` for usage)')
    .exitOverride();
  for (const register of commands) register(program, result);
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
