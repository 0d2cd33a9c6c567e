// The Kubeflow Pipelines settings (`flowbook.kfp.*`) as one plain snapshot for the core
// (`KfpSettings`), read when a KFP command runs, so a change applies to the next call.

import * as vscode from 'vscode';
import type { KfpSettings } from '../../kfp/endpoint';

/** The keys whose change means "talk to another KFP": the runs view reloads. */
export const KFP_KEYS = ['flowbook.kfp'];

export function readKfpSettings(): KfpSettings {
  const c = vscode.workspace.getConfiguration('flowbook.kfp');
  const text = (key: string): string | undefined => {
    const v = c.get<string>(key, '').trim();
    return v === '' ? undefined : v;
  };
  const s: KfpSettings = {};
  const set = <K extends keyof KfpSettings>(key: K, value: KfpSettings[K] | undefined) => {
    if (value !== undefined) s[key] = value;
  };
  set('endpoint', text('endpoint'));
  set('namespace', text('namespace'));
  set('uiUrl', text('uiUrl'));
  set('tokenFile', text('tokenFile'));
  set('serviceAccount', text('serviceAccount'));
  set('caFile', text('caFile'));
  if (c.get<string>('tokenSource', 'none') === 'kubeconfig') s.tokenSource = 'kubeconfig';
  return s;
}
