// The `flowbook.*` settings as one typed snapshot, read in one place: the local runner's, the
// cluster connection's, the image builder's and Kubeflow Pipelines'. Read once, refreshed when
// the configuration changes (`Ctx`); the core receives plain values from it, never the vscode API.

import * as vscode from 'vscode';
import type { DataPassing } from '../converter/ir';
import { BUILDER_CHOICES, type BuilderChoice } from '../images/builderChoices';
import type { KfpSettings } from '../kfp/endpoint';

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
  /** `flowbook.kubeconfig`, `flowbook.cluster.*`, `flowbook.kserve.*`. */
  cluster: ClusterSettings;
  /** `flowbook.images.*`: where Run on Cluster and Run on Kubeflow get step images. */
  images: ImageSettings;
  /** `flowbook.kfp.*`, as the KFP core takes them. */
  kfp: KfpSettings;
}

export interface ClusterSettings {
  /** Kubeconfig file(s) as configured (several joined with the path delimiter), or undefined for kubectl's rules. */
  kubeconfig?: string;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Namespace to use instead of the context's. */
  namespace?: string;
  /** A docker-registry Secret in the namespace with push credentials (Kaniko builds). */
  registrySecret?: string;
  /** Where test predictions are sent instead of the service URL (an ingress gateway). */
  kserveIngress?: string;
  /** The Host header of test predictions; default: the service URL's host. */
  kserveHost?: string;
}

export interface ImageSettings {
  /** `HOST/REPOSITORY` step images are pushed to; undefined: steps run their base images. */
  registry?: string;
  builder: BuilderChoice;
  insecure: boolean;
}

export const SECTION = 'flowbook';

/** The keys whose change means "reconnect to the cluster". */
export const CONNECTION_KEYS = ['flowbook.kubeconfig', 'flowbook.cluster.context', 'flowbook.cluster.namespace'];
/** The keys whose change means "talk to another Kubeflow Pipelines" (a kubeconfig token may come from another cluster). */
export const KFP_KEYS = ['flowbook.kfp', 'flowbook.kubeconfig', 'flowbook.cluster.context'];

export function readSettings(scope?: vscode.ConfigurationScope): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const text = (key: string): string | undefined => {
    const v = c.get<string>(key, '').trim();
    return v === '' ? undefined : v;
  };
  /** Copies the keys whose values are set, so absent settings stay absent (not `undefined`). */
  const defined = <T extends object>(base: T, values: { [K in keyof T]?: T[K] | undefined }): T => {
    for (const [key, value] of Object.entries(values)) if (value !== undefined) (base as Record<string, unknown>)[key] = value;
    return base;
  };
  const parallelism = c.get<number>('parallelism', 2);
  const dataPassing = c.get<string>('dataPassing', 'notebook');
  const keep = c.get<number>('runs.keep', 20);
  const builder = c.get<string>('images.builder', 'auto');
  return defined<Settings>({
    parallelism: Number.isInteger(parallelism) && parallelism >= 1 ? parallelism : 2,
    cluster: defined<ClusterSettings>({}, {
      kubeconfig: text('kubeconfig'),
      context: text('cluster.context'),
      namespace: text('cluster.namespace'),
      registrySecret: text('cluster.registrySecret'),
      kserveIngress: text('kserve.ingressUrl'),
      kserveHost: text('kserve.hostHeader'),
    }),
    images: defined<ImageSettings>({
      builder: (BUILDER_CHOICES as readonly string[]).includes(builder) ? (builder as BuilderChoice) : 'auto',
      insecure: c.get<boolean>('images.insecure', false) === true,
    }, { registry: text('images.registry') }),
    kfp: defined<KfpSettings>({}, {
      endpoint: text('kfp.endpoint'),
      namespace: text('kfp.namespace'),
      uiUrl: text('kfp.uiUrl'),
      tokenFile: text('kfp.tokenFile'),
      serviceAccount: text('kfp.serviceAccount'),
      caFile: text('kfp.caFile'),
      tokenSource: c.get<string>('kfp.tokenSource', 'none') === 'kubeconfig' ? 'kubeconfig' : undefined,
    }),
  }, {
    // An untrusted workspace must not pick the program that runs code.
    pythonInterpreter: vscode.workspace.isTrusted ? text('pythonInterpreter') : undefined,
    keepRuns: Number.isInteger(keep) && keep >= 1 ? keep : undefined,
    runsFolder: text('runsFolder'),
    dataPassing: dataPassing === 'volume' || dataPassing === 'artifacts' ? dataPassing : undefined,
    defaultImage: text('defaultImage'),
  });
}

/** Where a choice the user makes in a prompt (context, namespace, registry) is written: the workspace when one is open. */
export function settingsTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}
