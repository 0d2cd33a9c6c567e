// The compiled KFP pipeline for a notebook's pipeline IR, as the text uploaded to KFP: the
// KFP emitter's IR and platform spec, serialised as `flowbook compile --target kfp` writes
// them. Compile errors become a UserError naming the first one.

import type { Ctx } from '../../workbench/context';
import type { Pipeline } from '../../converter/ir';
import { hasErrors } from '../../converter/diagnostics';
import { UserError } from '../tagCommands';

export function kfpPackageFor(ctx: Ctx, pipeline: Pipeline, notebookPath: string): Promise<string> {
  // The emitter loads on first use, not at activation.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { compileKfp, kfpYaml } = require('../../converter/emit') as typeof import('../../converter/emit');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { toYaml } = require('../../converter/yaml') as typeof import('../../converter/yaml');
  const compiled = compileKfp(pipeline, {});
  if (hasErrors(compiled.diagnostics)) {
    const first = compiled.diagnostics.find((d) => d.severity === 'error');
    throw new UserError(`${pipeline.name} cannot be compiled for Kubeflow Pipelines: ${first?.message ?? 'see the Problems panel'}.`);
  }
  for (const d of compiled.diagnostics) ctx.log.info(`KFP compile: ${d.code} ${d.message}`);
  return Promise.resolve(kfpYaml(compiled, notebookPath, toYaml));
}
