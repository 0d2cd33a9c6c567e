// Image references as Docker spells them: `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`. A first
// component with a dot, a colon or `localhost` is a registry host; otherwise the image is on
// Docker Hub, whose API lives at registry-1.docker.io and whose one-word names sit under
// `library/`.

import { ImageError } from './errors';
import { IMAGE_DIGEST, IMAGE_PATH_COMPONENT, IMAGE_TAG } from '../converter/validate';

export interface ImageReference {
  /** The registry as written (`docker.io` for Docker Hub): the key for credentials. */
  registry: string;
  /** The repository path inside the registry (`library/python`). */
  repository: string;
  tag?: string;
  /** `sha256:...` when the reference pins a digest. */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

// The grammar is the converter's, which checks image settings and tags when it parses them.
const PATH_COMPONENT = IMAGE_PATH_COMPONENT;
const TAG = IMAGE_TAG;
const DIGEST = IMAGE_DIGEST;

/** Parses a reference; throws `ImageError` naming `what` (e.g. "the notebook's image setting") when it is malformed. */
export function parseReference(text: string, what = 'image reference'): ImageReference {
  const bad = (why: string) => new ImageError(`The ${what} \`${text}\` is not a valid image reference: ${why}. Write it like \`python:3.12-slim\` or \`registry.example.com/team/image:tag\`.`);
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`the digest \`${digest}\` is malformed`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`the tag \`${tag}\` is malformed`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT.test(p))) throw bad('the repository path must be lower-case letters, digits and separators');
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  return { registry, repository: parts.join('/'), ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The host that serves the registry API for a registry name. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** `registry/repository[:tag][@digest]`, the form every client accepts. Docker Hub keeps its short form. */
export function formatReference(ref: ImageReference): string {
  let repo = ref.repository;
  if (ref.registry === DOCKER_HUB) {
    if (repo.startsWith('library/') && repo.split('/').length === 2) repo = repo.slice('library/'.length);
  } else {
    repo = `${ref.registry}/${repo}`;
  }
  return repo + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** What a manifest request names: the digest when pinned, else the tag (default `latest`). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * Parses `--registry HOST/REPO` (where built images go). A tag is not allowed: Flowbook
 * chooses it from the content hash.
 */
export function parseTargetRepository(text: string): ImageReference {
  const ref = parseReference(text, 'registry setting');
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new ImageError(`The registry setting \`${text}\` names a tag or digest; give only HOST/REPOSITORY (for example \`registry.example.com/team/flowbook\`): Flowbook tags images by their content.`);
  }
  return ref;
}
