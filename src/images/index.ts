// The public face of the image module: requirement resolution, content-hashed image builds
// and the registry client. vscode-free; the CLI and the extension call only what is here.

export { resolvePipelineRequirements, resolveRequirements } from './requirements';
export type { ResolvedRequirements, ResolvedRequirement, RequirementSource, ResolveOptions, RequirementsInput } from './requirements';
export { buildPipelineImages, stepImagesFor, baseImageGroups, BUILDER_CHOICES } from './build';
export type { ImageBuildOptions, BuildResult, ImageResult, BuilderChoice, BuilderName } from './build';
export { ImageError } from './errors';
export type { ImageErrorKind } from './errors';
export { DockerConfigCredentials, StaticCredentials, dockerConfigPath } from './dockerConfig';
export type { CredentialStore, Credentials } from './dockerConfig';
export { kanikoPod, kanikoConfigMap, runKanikoBuild, KANIKO_EXECUTOR } from './builders/kaniko';
export type { KanikoCluster, KanikoSettings, KanikoPod, KanikoConfigMap, KanikoJob, KanikoPodEnd, SecretKeys } from './builders/kaniko';
export { buildContext, contentTag, contextTarGz } from './context';
export { parseReference, formatReference, parseTargetRepository } from './reference';
export type { ImageReference } from './reference';
export { RegistryClient } from './registry';
export { registryPool } from './pool';
export { appendLayers, readImage } from './oci';
export { buildLayer } from './layer';
