// The compiled KFP pipeline for a notebook's pipeline IR, as the text uploaded to KFP. The
// KFP emitter (issue 12's compile half, `flowbook compile --target kfp`) produces it.

import type { Ctx } from '../context';
import type { Pipeline } from '../../converter/ir';
import { UserError } from '../tagCommands';

export function kfpPackageFor(_ctx: Ctx, pipeline: Pipeline, _notebookPath: string): Promise<string> {
  return Promise.reject(new UserError(`This build of Flowbook cannot compile ${pipeline.name} for Kubeflow Pipelines yet: run \`flowbook compile NOTEBOOK --target kfp -o pipeline.yaml\` and \`flowbook submit pipeline.yaml --target kfp\`.`));
}
