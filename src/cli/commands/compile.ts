// `flowbook compile` and `flowbook inspect`: the compiler on the command line. Diagnostics go
// to stderr as `NOTEBOOK:cell N:LINE: severity CODE message`; output goes to stdout or -o.

import type { Command } from 'commander';
import { Option } from 'commander';
import { compileKfpNotebookFile, compileNotebookFile, CompileResult, Diagnostic, formatDiagnostic, hasErrors, InputError } from '../../converter';
import type { EmitOptions } from '../../converter';
import { toYaml } from '../../converter/yaml';
import { compileKfp, emitWorkflow, kfpYaml } from '../../converter/emit';
import { BUILDER_CHOICES, type BuilderChoice } from '../../images/builderChoices';
import { writeFileAtomic } from '../../common/atomicFile';
import type { CommandResult } from '../main';
import { describePipeline, pipelineJson } from '../pipelineText';

interface CompileFlags {
  target: 'argo' | 'kfp';
  output?: string;
  namespace?: string;
  image?: string;
  data?: 'volume' | 'artifacts';
  registry?: string;
  builder?: BuilderChoice;
  insecure?: boolean;
  python?: string;
  verbose?: boolean;
}

export function registerCompile(program: Command, result: CommandResult): void {
  program
    .command('compile')
    .description('Compile a tagged notebook to an Argo Workflow or a Kubeflow Pipelines v2 pipeline (YAML)')
    .argument('<notebook>', 'the .ipynb file')
    .addOption(new Option('-t, --target <target>', 'argo: an Argo Workflow; kfp: Kubeflow Pipelines v2 IR (upload it in the KFP UI)').choices(['argo', 'kfp']).default('argo'))
    .option('-o, --output <file>', 'write the YAML to this file instead of stdout')
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the Workflow')
    .option('--image <image>', 'image for steps without an image: tag (default: the notebook setting, else python:3.12-slim)')
    .addOption(new Option('--data <mode>', 'how values pass between steps').choices(['volume', 'artifacts']))
    .option('--registry <host/repo>', 'build the steps\' images from the notebook\'s requirements, push them here, and use them')
    .addOption(new Option('--builder <name>', 'with --registry: how to build').choices([...BUILDER_CHOICES]).default('auto'))
    .option('--insecure', 'with --registry: the registry speaks plain HTTP (a local registry)')
    .option('--python <path>', 'with --registry: the interpreter whose package versions are pinned (default: python3)')
    .option('-v, --verbose', 'also print information diagnostics')
    .action(async (notebook: string, flags: CompileFlags) => {
      const options = emitOptions(flags);
      if (flags.target === 'kfp') {
        result.code = await compileForKfp(notebook, flags, options);
        return;
      }
      const compiled = await compileOrReport(notebook, options, flags.verbose ?? false);
      if (typeof compiled === 'number') {
        result.code = compiled;
        return;
      }
      const stepImages = await builtImages(notebook, compiled.pipeline, flags);
      if (typeof stepImages === 'number') {
        result.code = stepImages;
        return;
      }
      const workflow = stepImages ? emitWorkflow(compiled.pipeline, { ...options, stepImages }) : compiled.workflow;
      writeOutput(flags.output, toYaml(workflow), `${compiled.pipeline.steps.length} steps`);
      result.code = 0;
    });
}

/**
 * `compile --target kfp`: the KFP IR (and platform spec) of the notebook. Values always pass
 * between steps as KFP artifacts, and KFP pipelines have no namespace, so `--data` and
 * `--namespace` are refused rather than silently ignored.
 */
async function compileForKfp(notebook: string, flags: CompileFlags, options: EmitOptions): Promise<number> {
  if (flags.data) {
    process.stderr.write(`--data applies to the Argo target: Kubeflow Pipelines always passes values between steps as artifacts. Leave out --data ${flags.data}.\n`);
    return 2;
  }
  if (flags.namespace) {
    process.stderr.write('--namespace applies to the Argo target: a Kubeflow Pipelines pipeline has no namespace (its runs take the experiment\'s). Leave out --namespace.\n');
    return 2;
  }
  let compiled;
  try {
    compiled = await compileKfpNotebookFile(notebook, options);
  } catch (err) {
    return reportInputError(notebook, err);
  }
  printDiagnostics(notebook, compiled.diagnostics, flags.verbose ?? false);
  if (!compiled.kfp) {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`${notebook}: ${errors} error${errors === 1 ? '' : 's'}; nothing was compiled.\n`);
    return 1;
  }
  const stepImages = await builtImages(notebook, compiled.pipeline, flags);
  if (typeof stepImages === 'number') return stepImages;
  const kfp = stepImages ? compileKfp(compiled.pipeline, { ...options, stepImages }) : compiled.kfp;
  writeOutput(flags.output, kfpYaml(kfp, notebook, toYaml), `${compiled.pipeline.steps.length} steps, Kubeflow Pipelines`);
  return 0;
}

/**
 * With `--registry`: builds the steps' images and returns them by step name (undefined
 * without it). A build error is printed and its exit code returned.
 */
async function builtImages(notebook: string, pipeline: CompileResult['pipeline'], flags: CompileFlags): Promise<Record<string, string> | undefined | number> {
  if (!flags.registry) return undefined;
  // The image builder loads only when it is needed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { stepImagesFor, ImageError } = require('../../images') as typeof import('../../images');
  try {
    return await stepImagesFor(pipeline, {
      registry: flags.registry, builder: flags.builder, insecure: flags.insecure, image: flags.image, python: flags.python,
      log: (line) => { if (flags.verbose) process.stderr.write(line + '\n'); },
      progress: (message) => process.stderr.write(`${message}\n`),
    });
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
    process.stderr.write(`${notebook}: ${err.message}\n`);
    return 1;
  }
}

function writeOutput(output: string | undefined, yaml: string, summary: string): void {
  if (output) {
    writeFileAtomic(output, yaml);
    process.stderr.write(`wrote ${output} (${summary})\n`);
  } else {
    process.stdout.write(yaml);
  }
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
