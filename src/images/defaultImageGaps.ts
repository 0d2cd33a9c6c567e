// What the steps that run in the default image lack: the packages the notebook imports and
// the runtime's pickler. The one place this is worked out; `flowbook compile` (both targets)
// and the extension's Run on Cluster / Run on Kubeflow word it for their surface.
// Only the default image is judged: any other image may well have the packages.

import type { Pipeline } from '../converter/ir';
import type { EmitOptions } from '../converter/emit/options';
import { DEFAULT_IMAGE } from '../converter/emit/options';
import { RUNTIME_DISTRIBUTIONS } from '../converter/emit/runtime';
import { imageOf } from '../converter/emit/workflow';
import { tableDistribution } from './distributions';

export interface DefaultImageGap {
  image: string;
  /** The steps (names as written) that run in it, in pipeline order. */
  steps: string[];
  /** Distributions the notebook imports that the image lacks, sorted. */
  imported: string[];
  /** Distributions the runtime needs there (when a step passes values on). */
  runtime: string[];
}

/** The gap, or undefined when no step runs in the default image or nothing is missing there. */
export function defaultImageGap(pipeline: Pipeline, options: EmitOptions = {}): DefaultImageGap | undefined {
  const steps = pipeline.steps.filter((s) => imageOf(pipeline, s, options) === DEFAULT_IMAGE).map((s) => s.name);
  const imported = [...new Set(pipeline.modules.map(tableDistribution).filter((d): d is string => d !== undefined))].sort();
  const runtime = pipeline.steps.some((s) => s.outputs.length > 0) ? [...RUNTIME_DISTRIBUTIONS] : [];
  if (steps.length === 0 || imported.length + runtime.length === 0) return undefined;
  return { image: DEFAULT_IMAGE, steps, imported, runtime };
}

/** "steps load, fit run in python:3.12-slim, which lacks pandas (the notebook imports it) and cloudpickle (...)". */
export function describeGap(gap: DefaultImageGap): string {
  const { steps, imported, runtime } = gap;
  const names = steps.slice(0, 5).join(', ') + (steps.length > 5 ? ` and ${steps.length - 5} more` : '');
  const needs = [
    ...(imported.length > 0 ? [`${imported.join(', ')} (the notebook imports ${imported.length === 1 ? 'it' : 'them'})`] : []),
    ...(runtime.length > 0 ? [`${runtime.join(', ')} (Flowbook passes values between steps with it)`] : []),
  ].join(' and ');
  return `step${steps.length === 1 ? '' : 's'} ${names} run${steps.length === 1 ? 's' : ''} in ${gap.image}, which lacks ${needs}`;
}
