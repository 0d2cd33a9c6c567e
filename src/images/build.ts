// Builds (or finds) the images a pipeline's steps run in. Steps are grouped by base image
// (a step's `image:` tag, else the notebook's image setting, else the default); each group
// gets the base plus one layer with the notebook's requirements. The tag is a hash of the
// base digest and the build inputs, so the registry is asked first with one manifest HEAD
// and an unchanged environment is never rebuilt.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_IMAGE } from '../converter/emit/options';
import type { Pipeline } from '../converter/ir';
import { detectCliBuilder, runCliBuild, type CliBuilderSettings } from './builders/cli';
import { runKanikoBuild, type KanikoCluster, type KanikoSettings } from './builders/kaniko';
import { buildContext, contentTag, contextTarGz, writeContext } from './context';
import { DockerConfigCredentials, type CredentialStore } from './dockerConfig';
import { ImageError } from './errors';
import { hostPlatform, type Platform } from './manifest';
import { registryPool } from './pool';
import { formatReference, manifestReference, parseReference, parseTargetRepository, type ImageReference } from './reference';
import { resolvePipelineRequirements, type ResolvedRequirements } from './requirements';
import { buildWheelImage, wheelhouseInputs } from './wheels';

export { BUILDER_CHOICES, type BuilderChoice, type BuilderName } from './builderChoices';
import type { BuilderChoice, BuilderName } from './builderChoices';

export interface ImageBuildOptions {
  /** `HOST/REPOSITORY` the images are pushed to; Flowbook chooses the tags. */
  registry: string;
  /** Default `auto`: docker (with an engine), podman, buildah, Kaniko (with a cluster), OCI (with a wheel-house). */
  builder?: BuilderChoice;
  /** The target registry speaks plain HTTP / has no trusted certificate (a local registry). */
  insecure?: boolean;
  /** Further registries (`host:port`) spoken to over HTTP, e.g. where a base image lives. */
  insecureRegistries?: readonly string[];
  /** Base image of steps without an `image:` tag; overrides the notebook's setting (like `EmitOptions.image`). */
  image?: string;
  /** Interpreter to pin versions from; default `python3`. */
  python?: string;
  requirementsFile?: string | false;
  /** The requirement lines to install (for example after the user edited them); skips resolution. */
  requirements?: readonly string[];
  /** Default: linux on this machine's architecture. */
  platform?: Platform;
  /** Docker config.json to read credentials from; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfig?: string;
  /** Overrides `dockerConfig` (for callers holding credentials elsewhere). */
  credentials?: CredentialStore;
  cli?: CliBuilderSettings;
  kaniko?: { cluster: KanikoCluster; settings: KanikoSettings };
  /** A folder of Linux wheels covering every requirement: lets the OCI builder install them without RUN. */
  wheelhouse?: string;
  /** Only look: report which images exist and which would be built. */
  dryRun?: boolean;
  /** Build log lines (builder output included). */
  log?: (line: string) => void;
  /** Short status for a progress bar. */
  progress?: (message: string) => void;
  signal?: AbortSignal;
  /** Sees every registry request (method and URL only). */
  onRequest?: (method: string, url: string) => void;
}

export interface ImageResult {
  /** What the steps run: `host/repo:tag`, or the base as written when there is nothing to install. */
  reference: string;
  digest?: string;
  status: 'existing' | 'built' | 'base' | 'missing';
  builder?: BuilderName;
  /** The base image as written, and where that came from. */
  base: string;
  baseSource: string;
  baseDigest?: string;
  steps: string[];
}

export interface BuildResult {
  images: ImageResult[];
  /** For `EmitOptions.stepImages`: every step's image. */
  stepImages: Record<string, string>;
  /** The requirement lines installed. */
  requirements: string[];
  /** The resolution behind them; undefined when the caller passed `requirements`. */
  resolved?: ResolvedRequirements;
  warnings: string[];
}

interface BaseGroup {
  base: string;
  source: string;
  steps: string[];
}

/** The base image of each step, grouped, in step order. */
export function baseImageGroups(pipeline: Pipeline, override?: string): BaseGroup[] {
  const groups = new Map<string, BaseGroup>();
  for (const step of pipeline.steps) {
    const [base, source] = step.options.image
      ? [step.options.image, `the \`image:\` tag of step ${step.name}`]
      : override
        ? [override, 'the image option']
        : pipeline.settings.image
          ? [pipeline.settings.image, 'the notebook\'s image setting']
          : [DEFAULT_IMAGE, 'the default base image'];
    let g = groups.get(base);
    if (!g) {
      g = { base, source, steps: [] };
      groups.set(base, g);
    }
    g.steps.push(step.name);
  }
  return [...groups.values()];
}

/** Builds or finds every image the pipeline needs and says which step runs in which. */
export async function buildPipelineImages(pipeline: Pipeline, options: ImageBuildOptions): Promise<BuildResult> {
  const log = options.log ?? (() => undefined);
  const progress = options.progress ?? (() => undefined);
  const target = parseTargetRepository(options.registry);
  const platform = options.platform ?? hostPlatform();
  const warnings: string[] = [];
  let resolved: ResolvedRequirements | undefined;
  let lines: string[];
  if (options.requirements) {
    lines = [...options.requirements];
  } else {
    progress('Resolving requirements');
    resolved = await resolvePipelineRequirements(pipeline, { python: options.python, requirementsFile: options.requirementsFile, signal: options.signal });
    lines = resolved.lines;
    warnings.push(...resolved.warnings);
  }
  const needsInstall = lines.some((l) => !l.startsWith('-'));
  const credentials = options.credentials ?? new DockerConfigCredentials(options.dockerConfig);
  const insecure = [...(options.insecure ? [target.registry] : []), ...(options.insecureRegistries ?? [])];
  const pool = registryPool({ credentials, insecureRegistries: insecure, signal: options.signal, onRequest: options.onRequest });
  const useWheels = options.builder === 'oci' || (options.builder ?? 'auto') === 'auto' && options.wheelhouse !== undefined;
  if (options.builder === 'kaniko' && options.wheelhouse !== undefined) {
    throw new ImageError(
      'The kaniko builder cannot take a wheel-house: its build context travels through the Kubernetes API as a ConfigMap (under 1 MiB), too small for wheels. Leave out the wheel-house (pip in the build Pod downloads the packages), or build with the wheel-house using --builder oci.',
      'input',
    );
  }
  let builder: Promise<BuilderName> | undefined;

  const images: ImageResult[] = [];
  const stepImages: Record<string, string> = {};
  for (const group of baseImageGroups(pipeline, options.image)) {
    throwIfCancelled(options.signal);
    const result: ImageResult = { reference: group.base, status: 'base', base: group.base, baseSource: group.source, steps: group.steps };
    images.push(result);
    for (const s of group.steps) stepImages[s] = group.base;
    if (!needsInstall) continue;

    const baseRef = parseReference(group.base, group.source);
    progress(`Resolving the base image ${group.base}`);
    const baseDigest = baseRef.digest ?? (await baseDigestOf(pool.client(baseRef.registry), baseRef, group.source));
    result.baseDigest = baseDigest;

    const context = buildContext(baseRef, baseDigest, lines);
    const inputs = useWheels
      ? { base: baseDigest, ...(await wheelhouseInputs(requireWheelhouse(options), lines)) }
      : context.files;
    const tag = contentTag(inputs, platform);
    const ref: ImageReference = { registry: target.registry, repository: target.repository, tag };
    const reference = formatReference(ref);
    result.reference = reference;
    for (const s of group.steps) stepImages[s] = reference;

    progress(`Checking ${reference}`);
    const existing = await pool.client(ref.registry).headManifest(ref.repository, tag);
    if (existing) {
      log(`${reference} exists (${existing.digest}): nothing to build for ${group.steps.join(', ')}`);
      Object.assign(result, { status: 'existing', digest: existing.digest });
      continue;
    }
    if (options.dryRun) {
      result.status = 'missing';
      continue;
    }
    builder ??= chooseBuilder(options, needsInstall);
    const name = await builder;
    progress(`Building ${reference} with ${name}`);
    log(`Building ${reference} on ${formatReference(baseRef)}@${baseDigest} with ${name}`);
    let digest: string | undefined;
    if (name === 'oci') {
      digest = (await buildWheelImage(pool, { base: { ...baseRef, digest: baseDigest }, target: ref, wheelhouse: requireWheelhouse(options), requirements: lines, platform, log })).digest;
    } else if (name === 'kaniko') {
      const k = options.kaniko!;
      const tarGz = await contextTarGz(context);
      digest = (await runKanikoBuild(k.cluster, { target: reference, tag, insecure: insecure.length > 0 }, tarGz, k.settings, log, options.signal)).digest;
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-context-'));
      try {
        writeContext(dir, context);
        const authFile = options.dockerConfig && fs.existsSync(options.dockerConfig) ? options.dockerConfig : undefined;
        digest = (await runCliBuild(name, { contextDir: dir, target: reference, insecure: insecure.length > 0, platform: options.platform, authFile, log, signal: options.signal }, options.cli)).digest;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    digest ??= (await pool.client(ref.registry).headManifest(ref.repository, tag))?.digest;
    Object.assign(result, { status: 'built', builder: name, digest });
  }
  return { images, stepImages, requirements: lines, resolved, warnings };
}

/**
 * The images compile and submit put in `EmitOptions.stepImages`: builds what is missing
 * (or, with `dryRun`, only looks) and maps every step to its image.
 */
export async function stepImagesFor(pipeline: Pipeline, options: ImageBuildOptions): Promise<Record<string, string>> {
  return (await buildPipelineImages(pipeline, options)).stepImages;
}

async function baseDigestOf(client: ReturnType<ReturnType<typeof registryPool>['client']>, ref: ImageReference, source: string): Promise<string> {
  const info = await client.headManifest(ref.repository, manifestReference(ref));
  if (!info) {
    throw new ImageError(
      `The base image ${formatReference(ref)} (${source}) does not exist: the registry ${ref.registry} has no ${ref.repository}:${manifestReference(ref)}. Check the name and tag in ${source}.`,
      'not-found',
    );
  }
  return info.digest;
}

function requireWheelhouse(options: ImageBuildOptions): string {
  if (!options.wheelhouse) {
    throw new ImageError(
      'The oci builder cannot run `pip install` (it has no container to run it in). Give it a wheel-house: a folder of Linux wheels for every requirement (`pip download -r requirements.txt --only-binary=:all: --platform manylinux2014_x86_64 -d wheels`), or choose a builder that runs pip: --builder docker, podman, buildah or kaniko.',
      'builder-missing',
    );
  }
  return options.wheelhouse;
}

async function chooseBuilder(options: ImageBuildOptions, needsInstall: boolean): Promise<BuilderName> {
  const choice = options.builder ?? 'auto';
  if (choice === 'oci') return 'oci';
  if (choice === 'kaniko') {
    if (!options.kaniko) throw new ImageError('The kaniko builder needs a Kubernetes cluster: configure one (kubeconfig context and namespace) or choose another builder.', 'builder-missing');
    return 'kaniko';
  }
  if (choice !== 'auto') {
    const a = await detectCliBuilder(choice, options.cli);
    if (!a.available) throw new ImageError(`The ${choice} builder cannot be used here: ${a.reason}. Install or start it, or choose another builder (--builder auto|docker|podman|buildah|kaniko|oci).`, 'builder-missing');
    return choice;
  }
  if (options.wheelhouse !== undefined || !needsInstall) return 'oci';
  const reasons: string[] = [];
  for (const name of ['docker', 'podman', 'buildah'] as const) {
    const a = await detectCliBuilder(name, options.cli);
    if (a.available) return name;
    reasons.push(a.reason ?? `${name} is not available`);
  }
  if (options.kaniko) return 'kaniko';
  throw new ImageError(
    `No image builder is available: ${reasons.join('; ')}; and no cluster is configured for Kaniko. Install podman or buildah, start Docker, configure a cluster for Kaniko, or use the oci builder with a wheel-house.`,
    'builder-missing',
  );
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ImageError('The image build was cancelled.', 'cancelled');
}
