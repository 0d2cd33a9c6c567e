// `flowbook compile` and `flowbook inspect`: the compiler on the command line. Diagnostics go
// to stderr as `NOTEBOOK:cell N:LINE: severity CODE message`; output goes to stdout or -o.

import type { Command } from 'commander';
import * as fs from 'node:fs';
import { Option } from 'commander';
import { analyzeNotebookFile, compileKfpNotebookFile, compileNotebookFile, CompileResult, Diagnostic, formatDiagnostic, hasErrors, InputError } from '../../converter';
import type { EmitOptions, Pipeline } from '../../converter';
import { defaultImageGap, describeGap } from '../../images/defaultImageGaps';
import { toYaml } from '../../converter/yaml';
import { compileKfp, emitWorkflow, kfpYaml } from '../../converter/emit';
import { BUILDER_CHOICES, type BuilderChoice } from '../../images/builderChoices';
import { writeFileAtomic } from '../../common/atomicFile';
import * as valid from '../../converter/validate';
import type { CommandResult } from '../main';
import { describePipeline, pipelineJson } from '../pipelineText';

/** The options that choose the steps' images: shared by `compile` and `submit`. */
export interface ImageFlags {
  image?: string;
  registry?: string;
  builder?: BuilderChoice;
  insecure?: boolean;
  python?: string;
  verbose?: boolean;
}

interface CompileFlags extends ImageFlags {
  target: 'argo' | 'kfp';
  output?: string;
  namespace?: string;
  data?: 'volume' | 'artifacts';
}

/** Adds --image, --registry, --builder, --insecure and --python to a command that compiles a notebook. */
export function addImageOptions(cmd: Command): Command {
  return cmd
    .option('--image <image>', 'image for steps without an image: tag (default: the notebook setting, else python:3.12-slim)')
    .option('--registry <host/repo>', 'build the steps\' images from the notebook\'s requirements, push them here, and use them')
    .addOption(new Option('--builder <name>', 'with --registry: how to build').choices([...BUILDER_CHOICES]).default('auto'))
    .option('--insecure', 'with --registry: the registry speaks plain HTTP (a local registry)')
    .option('--python <path>', 'with --registry: the interpreter whose package versions are pinned (default: $FLOWBOOK_PYTHON, else python3)');
}

export function registerCompile(program: Command, result: CommandResult): void {
  const cmd = program
    .command('compile')
    .description('Compile a tagged notebook to an Argo Workflow or a Kubeflow Pipelines v2 pipeline (YAML)')
    .argument('<notebook>', 'the .ipynb file')
    .addOption(new Option('-t, --target <target>', 'argo: an Argo Workflow; kfp: Kubeflow Pipelines v2 IR (upload it in the KFP UI)').choices(['argo', 'kfp']).default('argo'))
    .option('-o, --output <file>', 'write the YAML to this file instead of stdout')
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the Workflow')
    .addOption(new Option('--data <mode>', 'how values pass between steps').choices(['volume', 'artifacts']));
  addImageOptions(cmd)
    .option('-v, --verbose', 'also print information diagnostics')
    .action(async (notebook: string, flags: CompileFlags) => {
      if (flags.output !== undefined && sameFile(flags.output, notebook)) {
        process.stderr.write(`flowbook compile: -o ${flags.output} is the notebook itself; give another file, e.g. ${suggestedOutput(notebook)}\n`);
        result.code = 2;
        return;
      }
      const flagProblem = checkFlags(flags);
      if (flagProblem) {
        process.stderr.write(`flowbook compile: ${flagProblem}\n`);
        result.code = 2;
        return;
      }
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
      const used = stepImages ? { ...options, stepImages } : options;
      const workflow = stepImages ? emitWorkflow(compiled.pipeline, used) : compiled.workflow;
      const yaml = toYaml(workflow);
      writeOutput(flags.output, yaml, `${compiled.pipeline.steps.length} steps`);
      // After the write: a file that could not be written is the one thing to report.
      printWarnings(notebook, compileWarnings('argo', compiled.pipeline, used, yaml));
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
  const used = stepImages ? { ...options, stepImages } : options;
  const kfp = stepImages ? compileKfp(compiled.pipeline, used) : compiled.kfp;
  const yaml = kfpYaml(kfp, notebook, toYaml);
  writeOutput(flags.output, yaml, `${compiled.pipeline.steps.length} steps, Kubeflow Pipelines`);
  printWarnings(notebook, compileWarnings('kfp', compiled.pipeline, used, yaml));
  return 0;
}

export function printWarnings(notebook: string, warnings: string[]): void {
  for (const warning of warnings) process.stderr.write(`${notebook}: warning: ${warning}\n`);
}

/**
 * With `--registry`: builds the steps' images and returns them by step name (undefined
 * without it). A build error is printed and its exit code returned.
 */
export async function builtImages(notebook: string, pipeline: CompileResult['pipeline'], flags: ImageFlags): Promise<Record<string, string> | undefined | number> {
  if (!flags.registry) return undefined;
  // The image builder loads only when it is needed.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { stepImagesFor, ImageError } = require('../../images') as typeof import('../../images');
  try {
    return await stepImagesFor(pipeline, {
      registry: flags.registry, builder: flags.builder, insecure: flags.insecure, image: flags.image, python: flags.python ?? process.env.FLOWBOOK_PYTHON,
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
      let pipeline: Pipeline;
      try {
        pipeline = await analyzeNotebookFile(notebook);
      } catch (err) {
        result.code = reportInputError(notebook, err);
        return;
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(pipelineJson(pipeline), null, 2) + '\n');
      } else {
        printDiagnostics(notebook, pipeline.diagnostics, flags.verbose ?? false);
        process.stdout.write(describePipeline(pipeline));
      }
      result.code = hasErrors(pipeline.diagnostics) ? 1 : 0;
    });
}

/** Kubernetes refuses objects over about 1.5 MB (etcd's request limit). */
export const MAX_OBJECT_BYTES = 1_500_000;

/**
 * Problems the cluster would show only later, the same for both targets: a pipeline too big
 * to store (KFP runs its IR as an Argo Workflow, so the same limit applies), steps in the
 * default image without the packages they import. `options` are the emit options the file
 * was written with (built step images included).
 */
export function compileWarnings(target: 'argo' | 'kfp', pipeline: Pipeline, options: EmitOptions, text: string, command: 'compile' | 'submit' = 'compile'): string[] {
  const warnings: string[] = [];
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_OBJECT_BYTES) {
    const what = target === 'argo' ? `the Workflow is ${(bytes / 1e6).toFixed(1)} MB; Kubernetes refuses objects over about 1.5 MB, so submitting it will fail`
      : `the pipeline is ${(bytes / 1e6).toFixed(1)} MB; Kubeflow Pipelines runs it as an Argo Workflow, which Kubernetes refuses over about 1.5 MB, so its runs will fail to start`;
    warnings.push(`${what}. Every step carries the imports and functions cells and the runtime: use fewer, larger steps, or move shared code into a module installed in the image.`);
  }
  const gap = defaultImageGap(pipeline, options);
  if (gap) {
    const registry = `flowbook ${command}${target === 'kfp' ? ' --target kfp' : ''} --registry HOST/REPO`;
    warnings.push(`${describeGap(gap)}. Build images with the packages: \`${registry}\` (or \`flowbook build\`); or name an image that has them with --image, the notebook's image setting, or an image: tag.`);
  }
  return warnings;
}

/** Whether two paths name the same file (through links, either spelling); false when either is missing. */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

function suggestedOutput(notebook: string): string {
  return `${notebook.replace(/\.ipynb$/i, '')}.yaml`;
}

/** The first flag whose value Kubernetes would refuse, as one line; the same rules as notebook settings. */
export function checkFlags(flags: ImageFlags & { namespace?: string }): string | undefined {
  const checks: [string, string | undefined, valid.Check][] = [['--namespace', flags.namespace, valid.namespaceName], ['--image', flags.image, valid.imageReference]];
  for (const [flag, value, check] of checks) {
    const problem = value === undefined ? undefined : check(value);
    if (problem) return `${flag} ${JSON.stringify(value)}: ${problem}`;
  }
  return undefined;
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
