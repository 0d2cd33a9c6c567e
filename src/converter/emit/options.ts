// Options and fixed names of the emit phase, shared by the CLI, the local runner and the
// extension. The paths and variable names here are the runtime conventions of
// docs/architecture.md: the step scripts and the local runner both depend on them.

import type { DataPassing } from '../ir';

export interface EmitOptions {
  /** `metadata.namespace` of the Workflow; omitted when undefined. */
  namespace?: string;
  /** Image for steps without an `image:` tag; overrides the notebook's setting. */
  image?: string;
  /** How values travel between steps; default: the notebook's setting, else `volume`. */
  dataPassing?: DataPassing;
  /** Images built for the steps by the image builder, by step name; win over everything. */
  stepImages?: Record<string, string>;
}

/** The image a step runs in when nothing else names one. */
export const DEFAULT_IMAGE = 'python:3.12-slim';

/** Where step folders live inside a step's container (`FLOWBOOK_DATA_DIR` overrides it in the script). */
export const DATA_MOUNT_PATH = '/flowbook/data';
/** The per-run volume (volume mode) that holds the step folders. */
export const DATA_VOLUME_NAME = 'flowbook-data';
/** Its size when the notebook does not set `volumeSize`. */
export const DEFAULT_VOLUME_SIZE = '1Gi';
/** Where a step writes its metrics (`FLOWBOOK_METRICS_PATH` overrides it in the script); the Kubeflow convention. */
export const METRICS_PATH = '/tmp/mlpipeline-metrics.json';

/** Environment variables the step scripts read. */
export const DATA_DIR_ENV = 'FLOWBOOK_DATA_DIR';
export const METRICS_PATH_ENV = 'FLOWBOOK_METRICS_PATH';
export const STEP_ENV = 'FLOWBOOK_STEP';
/** `FLOWBOOK_PARAM_<NAME>` carries pipeline parameter NAME as JSON text. */
export const PARAM_ENV_PREFIX = 'FLOWBOOK_PARAM_';
