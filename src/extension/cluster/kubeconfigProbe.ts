// A cheap look for a usable kubeconfig, done at activation without loading the Kubernetes
// client: which files kubectl's rules pick (the setting, else KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account) and the current context's name.
// It only decides whether "Run on Cluster" is offered and what the status bar says until the
// client has loaded; the client reads the files properly. Never logs or keeps file contents.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface KubeconfigProbe {
  /** A context to connect with was found. */
  configured: boolean;
  /** The context that will be used (the setting, else the current context). */
  context?: string;
  /** The files read, for messages. */
  files: string[];
  /** Why nothing usable was found, when `configured` is false. */
  reason?: string;
}

/** `~/x` and paths relative to the workspace folder, made absolute. */
export function expandPath(file: string, base?: string): string {
  const home = os.homedir();
  const expanded = file === '~' ? home : file.startsWith('~/') ? path.join(home, file.slice(2)) : file;
  return path.isAbsolute(expanded) || !base ? expanded : path.resolve(base, expanded);
}

const YAML_CURRENT = /^["']?current-context["']?\s*:\s*["']?([^"'\s#,}]*)["']?/m;
const JSON_CURRENT = /"current-context"\s*:\s*"([^"]*)"/;

/** The `current-context` a kubeconfig file names, without parsing the rest of it. */
export function currentContextOf(text: string): string | undefined {
  const m = JSON_CURRENT.exec(text) ?? YAML_CURRENT.exec(text);
  const name = m?.[1]?.trim();
  return name ? name : undefined;
}

export async function probeKubeconfig(options: { kubeconfig?: string; context?: string; base?: string; env?: NodeJS.ProcessEnv }): Promise<KubeconfigProbe> {
  const env = options.env ?? process.env;
  let files: string[];
  if (options.kubeconfig) {
    files = options.kubeconfig.split(path.delimiter).filter((f) => f !== '').map((f) => expandPath(f, options.base));
    const missing = files.filter((f) => !fs.existsSync(f));
    if (missing.length > 0) return { configured: false, files, reason: `The kubeconfig file ${missing.join(', ')} (setting "Flowbook: Kubeconfig") does not exist.` };
  } else if (env.KUBECONFIG) {
    files = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '' && fs.existsSync(f));
  } else {
    const file = path.join(os.homedir(), '.kube', 'config');
    files = fs.existsSync(file) ? [file] : [];
  }
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && fs.existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      return { configured: true, context: options.context ?? 'in-cluster', files: [] };
    }
    return { configured: false, files, reason: 'No kubeconfig found: ~/.kube/config does not exist, KUBECONFIG is not set, and the setting "Flowbook: Kubeconfig" is empty.' };
  }
  let current: string | undefined;
  for (const file of files) {
    try {
      current ??= currentContextOf(await fs.promises.readFile(file, 'utf8'));
    } catch {
      return { configured: false, files, reason: `Cannot read the kubeconfig file ${file}.` };
    }
  }
  const context = options.context ?? current;
  if (!context) return { configured: false, files, reason: `The kubeconfig (${files.join(path.delimiter)}) has no current context: pick one with \`kubectl config use-context NAME\` or the setting "Flowbook: Cluster Context".` };
  return { configured: true, context, files };
}
