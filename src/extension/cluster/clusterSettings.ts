// The cluster, KServe and image-build settings (`flowbook.kubeconfig`, `flowbook.cluster.*`,
// `flowbook.images.*`, `flowbook.kserve.*`) as one typed snapshot, read like the extension's
// other settings and refreshed when the configuration changes. Plain values only.

import * as vscode from 'vscode';
import type { BuilderChoice } from '../../images/build';

export interface ClusterSettings {
  /** Kubeconfig file(s) as configured (several joined with the path delimiter), or undefined for kubectl's rules. */
  kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Namespace to use instead of the context's. */
  namespace?: string;
  /** A docker-registry Secret in the namespace with push credentials (Kaniko builds). */
  registrySecret?: string;
  /** `HOST/REPOSITORY` step images are pushed to; undefined: steps run their base images. */
  imageRegistry?: string;
  imageBuilder: BuilderChoice;
  imageInsecure: boolean;
  /** Where test predictions are sent instead of the service URL (an ingress gateway). */
  kserveIngress?: string;
  /** The Host header of test predictions; default: the service URL's host. */
  kserveHost?: string;
}

const BUILDERS: readonly BuilderChoice[] = ['auto', 'docker', 'podman', 'buildah', 'kaniko', 'oci'];

/** The keys below `flowbook` whose change means "reconnect". */
export const CONNECTION_KEYS = ['flowbook.kubeconfig', 'flowbook.cluster.context', 'flowbook.cluster.namespace'];

export function readClusterSettings(): ClusterSettings {
  const c = vscode.workspace.getConfiguration('flowbook');
  const text = (key: string): string | undefined => {
    const v = c.get<string>(key, '').trim();
    return v === '' ? undefined : v;
  };
  const builder = c.get<string>('images.builder', 'auto');
  const settings: ClusterSettings = {
    imageBuilder: (BUILDERS as readonly string[]).includes(builder) ? (builder as BuilderChoice) : 'auto',
    imageInsecure: c.get<boolean>('images.insecure', false) === true,
  };
  const set = <K extends keyof ClusterSettings>(key: K, value: ClusterSettings[K] | undefined) => {
    if (value !== undefined) settings[key] = value;
  };
  set('kubeconfig', text('kubeconfig'));
  set('context', text('cluster.context'));
  set('namespace', text('cluster.namespace'));
  set('registrySecret', text('cluster.registrySecret'));
  set('imageRegistry', text('images.registry'));
  set('kserveIngress', text('kserve.ingressUrl'));
  set('kserveHost', text('kserve.hostHeader'));
  return settings;
}

/** Where the user's context/namespace choice is written: the workspace when one is open. */
export function settingsTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}
