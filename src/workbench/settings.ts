// The `flowbook.*` settings as one typed snapshot. Read once, refreshed when the
// configuration changes; the core receives plain values from it, never the vscode API.

import * as vscode from 'vscode';
import type { DataPassing } from '../converter/ir';

export interface Settings {
  /** Explicit interpreter, or undefined to ask the Python extension / fall back to `python3`. */
  pythonInterpreter?: string;
  /** Runs folder as configured (may be relative to the workspace folder), or undefined for `.flowbook/runs` beside the notebook. */
  runsFolder?: string;
  parallelism: number;
  /** Local runs kept per notebook after each run; undefined keeps all. */
  keepRuns?: number;
  /** Undefined: the notebook's own setting. */
  dataPassing?: DataPassing;
  /** Undefined: the notebook's setting, else the emitter's default. */
  defaultImage?: string;
}

export const SECTION = 'flowbook';

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const text = (key: string): string | undefined => {
    const v = c.get<string>(key, '').trim();
    return v === '' ? undefined : v;
  };
  const parallelism = c.get<number>('parallelism', 2);
  const dataPassing = c.get<string>('dataPassing', 'notebook');
  const settings: Settings = {
    parallelism: Number.isInteger(parallelism) && parallelism >= 1 ? parallelism : 2,
  };
  // An untrusted workspace must not pick the program that runs code.
  const python = vscode.workspace.isTrusted ? text('pythonInterpreter') : undefined;
  if (python !== undefined) settings.pythonInterpreter = python;
  const keep = c.get<number>('runs.keep', 20);
  if (Number.isInteger(keep) && keep >= 1) settings.keepRuns = keep;
  const runs = text('runsFolder');
  if (runs !== undefined) settings.runsFolder = runs;
  if (dataPassing === 'volume' || dataPassing === 'artifacts') settings.dataPassing = dataPassing;
  const image = text('defaultImage');
  if (image !== undefined) settings.defaultImage = image;
  return settings;
}
