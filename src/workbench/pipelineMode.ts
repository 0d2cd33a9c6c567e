// Whether Flowbook treats a notebook as a pipeline. A notebook is one when it has Flowbook
// or Kale cell tags, or Flowbook or Kale notebook settings; the per-notebook switch
// `metadata.flowbook.enabled` (true or false) overrides both. Other notebooks get one quiet
// offer ("Make This Notebook a Pipeline") and nothing else. vscode-free, so unit-tested alone.

import type { Diagnostic } from '../converter/diagnostics';
import { parseCellTags } from '../converter/tags';

export type PipelineReason = 'tags' | 'settings' | 'switched on' | 'switched off' | 'untagged';

export interface PipelineMode {
  on: boolean;
  reason: PipelineReason;
}

/** The notebook-level metadata key of the switch (inside `metadata.flowbook`). */
export const SWITCH_KEY = 'enabled';

/**
 * Decides from the notebook metadata (`metadata`, as in the .ipynb) and each code cell's
 * tags. Tags of other tools (`hide-input`, `remove-cell`) do not make a pipeline.
 */
export function pipelineMode(metadata: Record<string, unknown> | undefined, codeCellTags: readonly (readonly string[])[]): PipelineMode {
  const ours = metadata?.['flowbook'];
  const switched = isObject(ours) ? ours[SWITCH_KEY] : undefined;
  if (switched === false) return { on: false, reason: 'switched off' };
  if (switched === true) return { on: true, reason: 'switched on' };
  if ((isObject(ours) && Object.keys(ours).length > 0) || isObject(metadata?.['kubeflow_notebook'])) return { on: true, reason: 'settings' };
  const scratch: Diagnostic[] = [];
  const tagged = codeCellTags.some((tags, i) => tags.length > 0 && parseCellTags(tags, i, scratch).foreign.length < tags.length);
  return tagged ? { on: true, reason: 'tags' } : { on: false, reason: 'untagged' };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
