// The compiled KFP pipeline for a notebook's pipeline IR, as the text uploaded to KFP: the
// same file `flowbook compile --target kfp` writes. What KFP cannot express (FB500/FB501
// warnings) goes to the Flowbook log.

import * as vscode from 'vscode';
import type { Ctx } from '../context';
import type { Pipeline } from '../../converter/ir';
import { formatDiagnostic } from '../../converter/diagnostics';
import { emitOptions } from '../workflowDocument';

export async function kfpPackageFor(ctx: Ctx, pipeline: Pipeline, notebookPath: string): Promise<string> {
  const core = await ctx.core();
  // Values always pass as KFP artifacts: the Argo data-passing setting does not apply.
  const { image } = emitOptions(ctx.settingsFor(vscode.Uri.file(notebookPath)), pipeline);
  const compiled = core.compileKfp(pipeline, image ? { image } : {});
  for (const d of compiled.diagnostics) ctx.log.warn(formatDiagnostic(notebookPath, d));
  return core.kfpYaml(compiled, notebookPath, core.toYaml);
}
