// Image manifest, index and config documents in the two dialects registries speak: Docker
// v2 schema 2 and OCI. An image keeps one dialect throughout: a layer appended to a Docker
// image is a Docker layer, one appended to an OCI image an OCI layer.

import * as crypto from 'node:crypto';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** What a manifest request accepts: both dialects, single images and multi-platform lists. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

export type Dialect = 'docker' | 'oci';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The parts of an image config Flowbook reads or changes; everything else is carried along untouched. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: { Env?: string[]; Labels?: Record<string, string>; [key: string]: unknown };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [key: string]: unknown;
}

export function isIndex(mediaType: string): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

export function dialectOf(mediaType: string): Dialect {
  return mediaType === MEDIA.dockerManifest || mediaType === MEDIA.dockerList ? 'docker' : 'oci';
}

export function mediaTypesFor(dialect: Dialect): { manifest: string; config: string; layerGzip: string } {
  return dialect === 'docker'
    ? { manifest: MEDIA.dockerManifest, config: MEDIA.dockerConfig, layerGzip: MEDIA.dockerLayerGzip }
    : { manifest: MEDIA.ociManifest, config: MEDIA.ociConfig, layerGzip: MEDIA.ociLayerGzip };
}

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
}

/** The manifest's media type: its own field, else the response's Content-Type. */
export function manifestMediaType(body: { mediaType?: string }, contentType: string | undefined): string {
  return body.mediaType ?? ((contentType ?? '').split(';')[0]!.trim() || MEDIA.ociManifest);
}

/** Node's `process.arch` in OCI platform words. */
export function hostPlatform(): Platform {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return { os: 'linux', architecture: arch };
}

/** Picks the entry of an index for a platform; undefined when the index has none. */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor | undefined {
  return index.manifests.find(
    (m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture && (platform.variant === undefined || m.platform.variant === platform.variant),
  );
}
