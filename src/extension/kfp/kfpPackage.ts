// The compiled KFP pipeline for a notebook's pipeline IR, as the text uploaded to KFP: the
// KFP emitter's IR and platform spec, serialised as `flowbook compile --target kfp` writes
// them, with the same emit options as Run on Cluster (image setting, built step images).
// Compile errors become a UserError naming the first one.

import type { Ctx } from '../../workbench/context';
import type { Pipeline } from '../../converter/ir';
import type { EmitOptions } from '../../converter/emit/options';
import { hasErrors } from '../../converter/diagnostics';
import { UserError } from '../tagCommands';

export function kfpPackageFor(ctx: Ctx, pipeline: Pipeline, notebookPath: string, options: EmitOptions): Promise<string> {
  // The emitter loads on first use, not at activation.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileKfp, kfpYaml } = require('../../converter/emit') as typeof import('../../converter/emit');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { toYaml } = require('../../converter/yaml') as typeof import('../../converter/yaml');
  const compiled = compileKfp(pipeline, options);
  if (hasErrors(compiled.diagnostics)) {
    const first = compiled.diagnostics.find((d) => d.severity === 'error');
    throw new UserError(`${pipeline.name} cannot be compiled for Kubeflow Pipelines: ${first?.message ?? 'see the Problems panel'}.`);
  }
  for (const d of compiled.diagnostics) ctx.log.info(`KFP compile: ${d.code} ${d.message}`);
  return Promise.resolve(kfpYaml(compiled, notebookPath, toYaml));
}
