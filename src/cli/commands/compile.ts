// `flowbook compile` and `flowbook inspect`: the compiler on the command line. Diagnostics go
// to stderr as `NOTEBOOK:cell N:LINE: severity CODE message`; output goes to stdout or -o.

import type { Command } from 'commander';
import { Option } from 'commander';
import { compileNotebookFile, CompileResult, Diagnostic, formatDiagnostic, hasErrors, InputError } from '../../converter';
import type { EmitOptions } from '../../converter';
import { toYaml } from '../../converter/yaml';
import { writeFileAtomic } from '../../common/atomicFile';
import type { CommandResult } from '../main';
import { describePipeline, pipelineJson } from '../pipelineText';

interface CompileFlags {
  output?: string;
  namespace?: string;
  image?: string;
  data?: 'volume' | 'artifacts';
  verbose?: boolean;
}

export function registerCompile(program: Command, result: CommandResult): void {
  program
    .command('compile')
    .description('Compile a tagged notebook to an Argo Workflow (YAML)')
    .argument('<notebook>', 'the .ipynb file')
    .option('-o, --output <file>', 'write the YAML to this file instead of stdout')
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the Workflow')
    .option('--image <image>', 'image for steps without an image: tag (default: the notebook setting, else python:3.12-slim)')
    .addOption(new Option('--data <mode>', 'how values pass between steps').choices(['volume', 'artifacts']))
    .option('-v, --verbose', 'also print information diagnostics')
    .action(async (notebook: string, flags: CompileFlags) => {
      const compiled = await compileOrReport(notebook, emitOptions(flags), flags.verbose ?? false);
      if (typeof compiled === 'number') {
        result.code = compiled;
        return;
      }
      const yaml = toYaml(compiled.workflow);
      if (flags.output) {
        writeFileAtomic(flags.output, yaml);
        process.stderr.write(`wrote ${flags.output} (${compiled.pipeline.steps.length} steps)\n`);
      } else {
        process.stdout.write(yaml);
      }
      result.code = 0;
    });
}

export function registerInspect(program: Command, result: CommandResult): void {
  program
    .command('inspect')
    .description('Show the steps, their inputs and why each step depends on another')
    .argument('<notebook>', 'the .ipynb file')
    .option('--json', 'print the pipeline as JSON')
    .option('-v, --verbose', 'also print information diagnostics')
    .action(async (notebook: string, flags: { json?: boolean; verbose?: boolean }) => {
      let compiled: CompileResult;
      try {
        compiled = await compileNotebookFile(notebook);
      } catch (err) {
        result.code = reportInputError(notebook, err);
        return;
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(pipelineJson(compiled.pipeline), null, 2) + '\n');
      } else {
        printDiagnostics(notebook, compiled.diagnostics, flags.verbose ?? false);
        process.stdout.write(describePipeline(compiled.pipeline));
      }
      result.code = hasErrors(compiled.diagnostics) ? 1 : 0;
    });
}

function emitOptions(flags: CompileFlags): EmitOptions {
  const options: EmitOptions = {};
  if (flags.namespace) options.namespace = flags.namespace;
  if (flags.image) options.image = flags.image;
  if (flags.data) options.dataPassing = flags.data;
  return options;
}

/**
 * Compiles and prints diagnostics; returns the exit code when there is nothing to emit
 * (1: the notebook has errors, 2: unusable input). Shared by the commands that compile.
 */
export async function compileOrReport(notebook: string, options: EmitOptions, verbose: boolean): Promise<(CompileResult & { workflow: NonNullable<CompileResult['workflow']> }) | number> {
  let compiled: CompileResult;
  try {
    compiled = await compileNotebookFile(notebook, options);
  } catch (err) {
    return reportInputError(notebook, err);
  }
  printDiagnostics(notebook, compiled.diagnostics, verbose);
  if (!compiled.workflow) {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`${notebook}: ${errors} error${errors === 1 ? '' : 's'}; nothing was compiled.\n`);
    return 1;
  }
  return { ...compiled, workflow: compiled.workflow };
}

export function printDiagnostics(notebook: string, diagnostics: Diagnostic[], verbose: boolean): void {
  for (const d of diagnostics) {
    if (d.severity === 'info' && !verbose) continue;
    process.stderr.write(formatDiagnostic(notebook, d) + '\n');
  }
}

/** Unusable input: print the one clear message (no stack trace) and return exit code 2. */
export function reportInputError(notebook: string, err: unknown): number {
  if (err instanceof InputError) {
    process.stderr.write(formatDiagnostic(notebook, err.diagnostic) + '\n');
    return 2;
  }
  throw err;
}
