// The emit phase: Pipeline IR → a typed Argo Workflow object and the Python each step
// runs. Serialisation to YAML happens later, at the edge (../yaml.ts).

export { emitWorkflow, imageOf, parameterJson, dnsName } from './workflow';
export {
  STEP_ANNOTATION, CELLS_ANNOTATION, CACHE_ANNOTATION, OUTPUTS_ANNOTATION, PIPELINE_LABEL, NOTEBOOK_ANNOTATION, VERSION_ANNOTATION,
  EXPERIMENT_ANNOTATION, DESCRIPTION_ANNOTATION, DATA_ARTIFACT, METRICS_ARTIFACT,
} from './workflow';
export { stepScript, CELL_MARKER, GENERATED_MARKER } from './script';
export { cellFrame, scriptLocation } from './sourceMap';
export { RUNTIME_DISTRIBUTIONS, SUMMARY_FILE, VALUES_FILE } from './runtime';
export type { ScriptLocation } from './sourceMap';
export * from './options';
export type * from '../../argo/compiled';
export { compileKfp, kfpYaml, KFP_DATA_ARTIFACT, KFP_METRICS_ARTIFACT } from './kfp';
export type { KfpCompiled } from './kfp';
export type { PipelineSpec, PlatformSpec } from './kfpSpec';
