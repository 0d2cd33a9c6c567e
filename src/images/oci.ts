// The daemonless builder: appends layers to a base image (or to nothing) and pushes the
// result through the distribution API, with no container engine involved. The new image
// keeps its base's manifest dialect (Docker schema 2 or OCI); base blobs are mounted from
// the base's repository when it is in the same registry, copied when it is not, and skipped
// when the target has them. Only the config and the new layers are new bytes.

import type { BuiltLayer } from './layer';
import {
  dialectOf, hostPlatform, isIndex, mediaTypesFor, selectPlatform, sha256Digest,
  type Descriptor, type Dialect, type ImageConfig, type ImageIndex, type ImageManifest, type Platform,
} from './manifest';
import { ImageError } from './errors';
import { formatReference, manifestReference, type ImageReference } from './reference';
import { fileBody, type RegistryClient } from './registry';
import { formatBytes } from '../common/bytes';

/** Hands out one client per registry, sharing credentials and the insecure setting. */
export interface RegistryPool {
  client(registry: string): RegistryClient;
}

export interface AppendedLayer {
  layer: BuiltLayer;
  /** The history line clients show (`docker history`), e.g. `flowbook: install requirements`. */
  createdBy: string;
}

export interface AppendInput {
  /** The image to start from, or `scratch` for an empty one. */
  base: ImageReference | 'scratch';
  /** Where to push; `tag` must be set. */
  target: ImageReference;
  layers: readonly AppendedLayer[];
  /** Environment entries (`NAME=value`) set in the new image, replacing same-named ones. */
  env?: readonly string[];
  labels?: Readonly<Record<string, string>>;
  /** For a multi-platform base: which image to take; default linux on this machine's architecture. */
  platform?: Platform;
  /** For `scratch`: the manifest dialect; default OCI. */
  dialect?: Dialect;
  /** Upload new layers in PATCH chunks of this size; default one PUT each. */
  chunkSize?: number;
  log?: (line: string) => void;
}

export interface PushedImage {
  /** `host/repo:tag`. */
  reference: string;
  /** Digest of the pushed manifest. */
  digest: string;
  mediaType: string;
  manifest: Buffer;
  config: Buffer;
}

interface ResolvedBase {
  dialect: Dialect;
  manifest: ImageManifest;
  config: ImageConfig;
}

/** Reads a base image's manifest and config, choosing the platform from an index. */
export async function readImage(pool: RegistryPool, ref: ImageReference, platform: Platform = hostPlatform()): Promise<ResolvedBase & { digest: string }> {
  const client = pool.client(ref.registry);
  const name = formatReference(ref);
  let got = await client.getManifest(ref.repository, manifestReference(ref));
  if (!got) {
    throw new ImageError(`The base image ${name} does not exist: the registry ${ref.registry} has no ${ref.repository}:${manifestReference(ref)}. Check the image name and tag.`, 'not-found');
  }
  if (isIndex(got.mediaType)) {
    const index = JSON.parse(got.body.toString('utf8')) as ImageIndex;
    const entry = selectPlatform(index, platform);
    if (!entry) {
      const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : '?')).join(', ');
      throw new ImageError(`The base image ${name} has no ${platform.os}/${platform.architecture} variant (it has ${have}). Choose another base image or platform.`, 'not-found');
    }
    got = await client.getManifest(ref.repository, entry.digest);
    if (!got) throw new ImageError(`The base image ${name} lists ${entry.digest}, which the registry does not have.`, 'not-found');
  }
  const manifest = JSON.parse(got.body.toString('utf8')) as ImageManifest;
  const config = JSON.parse((await client.getBlob(ref.repository, manifest.config.digest)).toString('utf8')) as ImageConfig;
  return { dialect: dialectOf(got.mediaType), manifest, config, digest: got.digest };
}

/** Appends layers and pushes the new image under `target`. */
export async function appendLayers(pool: RegistryPool, input: AppendInput): Promise<PushedImage> {
  const log = input.log ?? (() => undefined);
  const target = pool.client(input.target.registry);
  const targetRepo = input.target.repository;
  if (input.target.tag === undefined) throw new Error('appendLayers: the target needs a tag');

  let base: ResolvedBase;
  if (input.base === 'scratch') {
    const platform = input.platform ?? hostPlatform();
    base = {
      dialect: input.dialect ?? 'oci',
      manifest: { schemaVersion: 2, config: { mediaType: '', digest: '', size: 0 }, layers: [] },
      config: { architecture: platform.architecture, os: platform.os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
    };
  } else {
    log(`Reading the base image ${formatReference(input.base)}`);
    base = await readImage(pool, input.base, input.platform);
    await ensureBaseBlobs(pool, input.base, input.target, base.manifest, log);
  }
  const types = mediaTypesFor(base.dialect);

  const config = nextConfig(base.config, input);
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256Digest(configBytes);
  // The config is tiny: it goes up while the layers do.
  const configUpload = target.uploadBlob(targetRepo, configDigest, configBytes);
  const newLayers: Descriptor[] = [];
  try {
    for (const { layer } of input.layers) {
      log(`Pushing layer ${layer.digest} (${formatBytes(layer.size)})`);
      const state = await target.uploadBlob(targetRepo, layer.digest, fileBody(layer.file, layer.size), { chunkSize: input.chunkSize });
      if (state === 'exists') log(`Layer ${layer.digest} is already in the registry`);
      newLayers.push({ mediaType: types.layerGzip, digest: layer.digest, size: layer.size });
    }
  } finally {
    await configUpload.catch(() => undefined);
  }
  await configUpload;

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: configDigest, size: configBytes.length },
    layers: [...base.manifest.layers.map(stripPlatform), ...newLayers],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const digest = await target.putManifest(targetRepo, input.target.tag, types.manifest, manifestBytes);
  const reference = formatReference({ registry: input.target.registry, repository: targetRepo, tag: input.target.tag });
  log(`Pushed ${reference} (${digest})`);
  return { reference, digest, mediaType: types.manifest, manifest: manifestBytes, config: configBytes };
}

/** The base's config with the new layers' diff_ids, history lines, env and labels; `created` stays the base's, so pushes are reproducible. */
function nextConfig(baseConfig: ImageConfig, input: AppendInput): ImageConfig {
  const config: ImageConfig = JSON.parse(JSON.stringify(baseConfig)) as ImageConfig;
  config.rootfs = { type: 'layers', diff_ids: [...(config.rootfs?.diff_ids ?? []), ...input.layers.map((l) => l.layer.diffId)] };
  config.history = [...(config.history ?? []), ...input.layers.map((l) => ({ created_by: l.createdBy, comment: 'flowbook' }))];
  const inner = { ...(config.config ?? {}) };
  if (input.env && input.env.length > 0) {
    const names = new Set(input.env.map((e) => e.split('=')[0]));
    inner.Env = [...(inner.Env ?? []).filter((e) => !names.has(e.split('=')[0])), ...input.env];
  }
  if (input.labels && Object.keys(input.labels).length > 0) inner.Labels = { ...(inner.Labels ?? {}), ...input.labels };
  config.config = inner;
  return config;
}

/** Makes sure the target repository has every base blob: mount within a registry, copy across registries. */
async function ensureBaseBlobs(pool: RegistryPool, base: ImageReference, target: ImageReference, manifest: ImageManifest, log: (l: string) => void): Promise<void> {
  const to = pool.client(target.registry);
  const from = pool.client(base.registry);
  if (base.registry === target.registry && base.repository === target.repository) return;
  // The base's config blob is not needed: the new image gets a config of its own.
  for (const blob of manifest.layers) {
    if (await to.hasBlob(target.repository, blob.digest, [`repository:${target.repository}:pull,push`])) continue;
    if (base.registry === target.registry && (await to.mountBlob(target.repository, blob.digest, base.repository))) {
      log(`Mounted ${blob.digest} from ${base.repository}`);
      continue;
    }
    log(`Copying ${blob.digest} (${formatBytes(blob.size)}) from ${base.registry}/${base.repository}`);
    await to.uploadBlob(target.repository, blob.digest, { size: blob.size, open: () => from.openBlob(base.repository, blob.digest) });
  }
}

function stripPlatform(d: Descriptor): Descriptor {
  const { platform: _platform, ...rest } = d;
  return rest;
}

export { formatBytes };
