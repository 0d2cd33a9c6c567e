// The cluster half of the extension, loaded on first use through one dynamic import (webpack
// puts it in its own chunk, `cluster.chunk.js`): the Kubernetes client (@kubernetes/client-node
// takes most of a second to load), the run and KServe models, and the image builder.
// Nothing outside this file imports src/cluster or src/images at run time: only types.

export * from '../../cluster/index';
export { buildPipelineImages, resolvePipelineRequirements, ImageError } from '../../images/index';
export { serviceAccountTokens } from '../../kfp/kubeToken';
export { inSettingsTerms } from '../../images/errors';
