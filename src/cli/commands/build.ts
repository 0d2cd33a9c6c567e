// `flowbook build`: the notebook's requirements (`--print-requirements`) and the images its
// steps run in (`--registry`). stdout carries only the result (requirement lines, image
// references), so scripts can use it; warnings, progress and builder logs go to stderr.

import { Option, type Command } from 'commander';
import { compileNotebookFile, type CompileResult } from '../../converter';
import { BUILDER_CHOICES, buildPipelineImages, ImageError, resolvePipelineRequirements, type BuilderChoice, type ImageBuildOptions } from '../../images';
import type { CommandResult } from '../main';
import { addClusterOptions, cluster, connect, reportError, type ClusterFlags } from './clusterCommon';
import { printDiagnostics, reportInputError } from './compile';

interface BuildFlags extends ClusterFlags {
  printRequirements?: boolean;
  python?: string;
  requirements?: string;
  registry?: string;
  builder?: BuilderChoice;
  insecure?: boolean;
  image?: string;
  platform?: string;
  wheelhouse?: string;
  dockerConfig?: string;
  dryRun?: boolean;
  verbose?: boolean;
  registrySecret?: string;
  kanikoImage?: string;
}

export function registerBuild(program: Command, result: CommandResult): void {
  const cmd = program
    .command('build')
    .description('Resolve the notebook\'s requirements and build the images its steps run in (tagged by content: unchanged environments are not rebuilt)')
    .argument('<notebook>', 'the .ipynb file')
    .option('--print-requirements', 'print the resolved requirements, one per line, and stop')
    .option('--python <path>', 'the interpreter the notebook runs with; versions are pinned from it (default: $FLOWBOOK_PYTHON, else python3)')
    .option('--requirements <file>', 'a requirements file to merge (default: requirements.txt next to the notebook)')
    .option('--registry <host/repo>', 'where to push the images, e.g. registry.example.com/team/flowbook')
    .addOption(new Option('--builder <name>', 'how to build').choices([...BUILDER_CHOICES]).default('auto'))
    .option('--insecure', 'the registry speaks plain HTTP (a local registry)')
    .option('--image <image>', 'base image for steps without an image: tag (default: the notebook setting, else python:3.12-slim)')
    .option('--platform <os/arch>', 'platform of the images (default: linux on this machine\'s architecture)')
    .option('--wheelhouse <dir>', 'Linux wheels for every requirement: lets the oci builder install without running pip')
    .option('--docker-config <file>', 'Docker config.json with registry credentials (default: ~/.docker/config.json)')
    .option('--dry-run', 'only check which images exist; build nothing')
    .option('-v, --verbose', 'also print the builder\'s log')
    .option('--registry-secret <name>', 'kaniko: a docker-registry Secret in the namespace with push credentials for the registry')
    .option('--kaniko-image <image>', 'kaniko: the executor image, for clusters that cannot reach gcr.io');
  // The cluster the kaniko builder runs on; with --builder auto, giving one of these offers Kaniko as the last resort.
  addClusterOptions(cmd).action(async (notebook: string, flags: BuildFlags) => {
    result.code = await build(notebook, flags);
  });
}

async function build(notebook: string, flags: BuildFlags): Promise<number> {
  if (!flags.printRequirements && !flags.registry) {
    process.stderr.write('flowbook build: give --print-requirements, or --registry HOST/REPO to build images.\n');
    return 2;
  }
  let compiled: CompileResult;
  try {
    compiled = await compileNotebookFile(notebook);
  } catch (err) {
    return reportInputError(notebook, err);
  }
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  printDiagnostics(notebook, errors, false);
  if (errors.length > 0) {
    // As compile and run: the requirements of a notebook with errors are not what will run.
    process.stderr.write(`${notebook}: ${errors.length} error${errors.length === 1 ? '' : 's'}; fix ${errors.length === 1 ? 'it' : 'them'} first. Nothing was resolved or built.\n`);
    return 1;
  }
  const python = flags.python ?? process.env.FLOWBOOK_PYTHON;
  const requirementsFile = flags.requirements;
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    if (flags.printRequirements) {
      const resolved = await resolvePipelineRequirements(compiled.pipeline, { python, requirementsFile, signal: controller.signal });
      for (const w of resolved.warnings) process.stderr.write(`${notebook}: warning: ${w}\n`);
      for (const line of resolved.lines) process.stdout.write(line + '\n');
      return 0;
    }
    const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
    const kaniko = kanikoOptions(flags);
    const built = await buildPipelineImages(compiled.pipeline, {
      ...(kaniko ? { kaniko } : {}),
      registry: flags.registry!,
      builder: flags.builder,
      insecure: flags.insecure,
      image: flags.image,
      python,
      requirementsFile,
      platform,
      wheelhouse: flags.wheelhouse,
      dockerConfig: flags.dockerConfig,
      dryRun: flags.dryRun,
      signal: controller.signal,
      progress: (m) => process.stderr.write(`${m}\n`),
      log: flags.verbose ? (l) => process.stderr.write(`  ${l}\n`) : undefined,
    });
    for (const w of built.warnings) process.stderr.write(`${notebook}: warning: ${w}\n`);
    const printed = new Set<string>();
    for (const image of built.images) {
      const how = image.status === 'built' ? `built with ${image.builder}` : image.status === 'existing' ? 'already in the registry' : image.status === 'missing' ? 'not built yet (dry run)' : 'base image as is: nothing to install';
      process.stderr.write(`${image.reference}: ${how}; steps: ${image.steps.join(', ')}\n`);
      // Two bases with the same digest share one image: print it once.
      if (!printed.has(image.reference)) process.stdout.write(image.reference + '\n');
      printed.add(image.reference);
    }
    return 0;
  } catch (err) {
    if (err instanceof ImageError) {
      process.stderr.write(`flowbook build: ${err.message}\n`);
      return err.kind === 'input' ? 2 : 1;
    }
    // The kubeconfig for --builder kaniko: missing, unreadable, no such context.
    return reportError('build', err);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** The cluster for the kaniko builder: with --builder kaniko, or with auto when a cluster option names one. */
function kanikoOptions(flags: BuildFlags): ImageBuildOptions['kaniko'] {
  const wanted = flags.builder === 'kaniko' || ((flags.builder ?? 'auto') === 'auto' && Boolean(flags.kubeconfig || flags.context || flags.namespace));
  if (!wanted) return undefined;
  const client = connect(flags);
  return {
    cluster: cluster().kanikoCluster(client),
    settings: {
      namespace: client.namespace,
      ...(flags.registrySecret ? { pushSecret: flags.registrySecret } : {}),
      ...(flags.kanikoImage ? { executorImage: flags.kanikoImage } : {}),
    },
  };
}

function parsePlatform(text: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new ImageError(`The platform \`${text}\` is not OS/ARCH, e.g. linux/amd64.`, 'input');
  return variant ? { os, architecture, variant } : { os, architecture };
}
