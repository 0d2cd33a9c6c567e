// Build Step Images: the notebook's requirements are resolved and shown in an editor for the
// user to check or change, then the images are built (or found: tags are content hashes)
// with progress that can be cancelled; the builder's log goes to the output channel. Run on
// Cluster and Run on Kubeflow use the built images when `flowbook.images.registry` is set,
// building first if the user agrees; without it they say which steps lack packages in the
// default image. Kaniko builds run on the configured cluster.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { hasErrors } from '../../converter/diagnostics';
import type { Pipeline } from '../../converter/ir';
import type { BuildResult, ImageBuildOptions } from '../../images/build';
import { Disposable } from '../../workbench/lifecycle';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { targetNotebook } from '../../workbench/cells';
import type { NotebookModels } from '../../workbench/notebookModel';
import { pythonInterpreter } from '../python';
import { UserError } from '../tagCommands';
import { emitOptions } from '../workflowDocument';
import { settingsTarget } from '../../workbench/settings';
import type { StepImageProvider } from './clusterRuns';
import type { ClusterSession } from './session';

const HEADER = '#';

/** The requirement lines of an edited requirements document: comments and blank lines left out. */
export function requirementLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith(HEADER));
}

/** How a run answers the questions of `stepImagesForRun` without asking (scripts, tests). */
export interface RunImageOptions {
  /** When the images are not in the registry yet: build them, or run with the base images. */
  missing?: 'build' | 'base';
  /** With `missing: 'build'`: the requirement lines to install (skips the editor). */
  requirements?: string[];
  /** Cancels the check and the build, as the notification's Cancel does. */
  signal?: AbortSignal;
}

export interface BuildSummary {
  stepImages: Record<string, string>;
  images: { reference: string; status: string; steps: string[] }[];
  requirements: string[];
}

const BUILT_KEY = 'flowbook.stepImages';

interface Built {
  /** What the images were built for (`stepsKey`). */
  steps: string;
  stepImages: Record<string, string>;
}

export class StepImages extends Disposable implements StepImageProvider {
  private note?: string;

  constructor(private readonly ctx: Ctx, private readonly session: ClusterSession, private readonly models: NotebookModels) {
    super();
  }

  /** The last build of a notebook (kept in the workspace state: the user's edits to the requirements count). */
  private built(doc: vscode.NotebookDocument): Built | undefined {
    return this.ctx.extension.workspaceState.get<Record<string, Built>>(BUILT_KEY, {})[doc.uri.toString()];
  }

  private async remember(doc: vscode.NotebookDocument, built: Built): Promise<void> {
    const all = { ...this.ctx.extension.workspaceState.get<Record<string, Built>>(BUILT_KEY, {}), [doc.uri.toString()]: built };
    await this.ctx.extension.workspaceState.update(BUILT_KEY, all);
  }

  /** The base image of steps without an `image:` tag: the setting, when the notebook names none (as compile does). */
  private baseImage(doc: vscode.NotebookDocument, pipeline: Pipeline): { image?: string } {
    const image = emitOptions(this.ctx.settingsFor(doc.uri), pipeline).image;
    return image ? { image } : {};
  }

  private async pipelineOf(target: unknown): Promise<{ doc: vscode.NotebookDocument; pipeline: Pipeline } | undefined> {
    const doc = targetNotebook(target);
    if (!doc) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to build the images its steps run in.');
      return undefined;
    }
    const analysis = await this.models.current(doc);
    if (!analysis) return undefined;
    if (hasErrors(analysis.pipeline.diagnostics)) throw new UserError('The notebook has errors; fix them (see the Problems panel) before building its images.');
    return { doc, pipeline: analysis.pipeline };
  }

  private async registry(): Promise<string | undefined> {
    const configured = this.ctx.settings.images.registry;
    if (configured) return configured;
    const typed = await vscode.window.showInputBox({
      title: 'Where to push the step images',
      prompt: 'A registry and repository, e.g. registry.example.com/team/flowbook (saved as the setting "Flowbook: Images Registry")',
      placeHolder: 'HOST/REPOSITORY',
      validateInput: (v) => (/^[^\s/]+\/\S+$/.test(v.trim()) ? undefined : 'Give HOST/REPOSITORY, e.g. localhost:5000/flowbook'),
    });
    if (!typed) return undefined;
    await vscode.workspace.getConfiguration('flowbook').update('images.registry', typed.trim(), settingsTarget());
    return typed.trim();
  }

  /** Kaniko on the configured cluster, when the builder setting allows it and a cluster is there. */
  private async kaniko(): Promise<ImageBuildOptions['kaniko'] | undefined> {
    const builder = this.ctx.settings.images.builder;
    if (builder !== 'kaniko' && builder !== 'auto') return undefined;
    if (this.session.state.kind === 'unconfigured') {
      if (builder === 'kaniko') throw new UserError('The Kaniko builder (flowbook.images.builder) runs on a Kubernetes cluster: set flowbook.kubeconfig to one, or choose another builder in flowbook.images.builder.');
      return undefined;
    }
    try {
      const c = await this.session.connect();
      const secret = this.session.settings.registrySecret;
      return { cluster: c.core.kanikoCluster(c.client), settings: { namespace: c.namespace, ...(secret ? { pushSecret: secret } : {}) } };
    } catch (err) {
      if (builder === 'kaniko') throw new UserError(`The Kaniko builder (flowbook.images.builder) needs the cluster: ${errorMessage(err)}`);
      return undefined;
    }
  }

  /**
   * Build Step Images: resolve the requirements, let the user check them in an editor, then
   * build. `options.requirements` skips the editor (tests, scripts).
   */
  async buildStepImages(target: unknown, options?: { requirements?: string[]; signal?: AbortSignal }): Promise<BuildSummary | undefined> {
    const found = await this.pipelineOf(target);
    if (!found) return undefined;
    const { doc, pipeline } = found;
    const registry = await this.registry();
    if (!registry) return undefined;
    const core = await this.session.core();
    const python = await pythonInterpreter(this.ctx, doc.uri);
    let requirements = options?.requirements;
    if (!requirements) {
      const resolved = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Flowbook: resolving requirements', cancellable: true }, (_p, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return core.resolvePipelineRequirements(pipeline, { python, signal: abort.signal });
      });
      const name = path.basename(doc.uri.fsPath);
      const text = [
        `${HEADER} Requirements of the step images of ${name} (pinned from ${resolved.interpreter?.executable ?? python}).`,
        `${HEADER} Edit them if needed, then click "Build Images" in the notification. Lines starting with # are ignored.`,
        ...resolved.warnings.map((w) => `${HEADER} warning: ${w}`),
        ...resolved.lines,
        '',
      ].join('\n');
      const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: 'plaintext', content: text }), { preview: false });
      const choice = await vscode.window.showInformationMessage(`Build the step images of ${name} with the requirements in the editor (${resolved.lines.length})?`, 'Build Images', 'Cancel');
      if (choice !== 'Build Images') return undefined;
      requirements = requirementLines(editor.document.getText());
    }
    const kaniko = await this.kaniko();
    const settings = this.ctx.settings.images;
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Flowbook: step images', cancellable: true }, async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      const caller = options?.signal;
      if (caller?.aborted) abort.abort();
      caller?.addEventListener('abort', () => abort.abort(), { once: true });
      try {
        return await core.buildPipelineImages(pipeline, {
          registry,
          builder: settings.builder,
          insecure: settings.insecure,
          python,
          requirements: requirements ?? [],
          ...this.baseImage(doc, pipeline),
          ...(kaniko ? { kaniko } : {}),
          signal: abort.signal,
          log: (line) => this.ctx.log.info(`[image build] ${line}`),
          progress: (message) => progress.report({ message }),
        });
      } catch (err) {
        if (err instanceof core.ImageError && err.kind === 'cancelled') throw new vscode.CancellationError();
        // The builder's messages say what to do; they name CLI options, which are settings here.
        if (err instanceof core.ImageError) {
          const message = core.inSettingsTerms(err.message);
          const hint = err.kind === 'builder-missing' && !message.includes('flowbook.images.builder') ? ' Choose the builder in flowbook.images.builder (Kaniko builds run on the cluster of flowbook.kubeconfig).' : '';
          throw new UserError(`The step images of ${path.basename(doc.uri.fsPath)} could not be built: ${message}${hint}`);
        }
        throw err;
      }
    });
    return this.report(doc, pipeline, result, registry);
  }

  private async report(doc: vscode.NotebookDocument, pipeline: Pipeline, result: BuildResult, registry: string): Promise<BuildSummary> {
    await this.remember(doc, { steps: stepsKey(pipeline, this.baseImage(doc, pipeline), registry), stepImages: result.stepImages });
    for (const w of result.warnings) this.ctx.log.warn(`image build: ${w}`);
    for (const image of result.images) this.ctx.log.info(`image ${image.reference}: ${image.status}${image.builder ? ` (${image.builder})` : ''} for ${image.steps.join(', ')}`);
    const built = result.images.filter((i) => i.status === 'built').length;
    const existing = result.images.filter((i) => i.status === 'existing').length;
    void vscode.window.showInformationMessage(`Step images of ${path.basename(doc.uri.fsPath)}: ${built} built, ${existing} already in the registry. Run on Cluster and Run on Kubeflow use them.`);
    return {
      stepImages: result.stepImages,
      images: result.images.map((i) => ({ reference: i.reference, status: i.status, steps: i.steps })),
      requirements: result.requirements,
    };
  }

  /** What the last run without a registry said about the default image (for the integration suite). */
  lastNote(): string | undefined {
    return this.note;
  }

  /**
   * For Run on Cluster and Run on Kubeflow: the steps' images when a registry is configured
   * (built first if the user agrees, or as `options` say); undefined runs the base images.
   */
  async stepImagesForRun(doc: vscode.NotebookDocument, pipeline: Pipeline, options: RunImageOptions = {}): Promise<Record<string, string> | undefined> {
    const registry = this.ctx.settings.images.registry;
    this.note = undefined;
    if (!registry) {
      await this.noteDefaultImage(doc, pipeline);
      return undefined;
    }
    const last = this.built(doc);
    const key = stepsKey(pipeline, this.baseImage(doc, pipeline), registry);
    if (last && last.steps === key) return last.stepImages;
    const core = await this.session.core();
    const python = await pythonInterpreter(this.ctx, doc.uri);
    let result: BuildResult;
    try {
      result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Flowbook: looking for the step images' }, () =>
        core.buildPipelineImages(pipeline, { registry, insecure: this.ctx.settings.images.insecure, python, dryRun: true, ...this.baseImage(doc, pipeline), ...(options.signal ? { signal: options.signal } : {}) }));
    } catch (err) {
      if (options.signal?.aborted) throw new vscode.CancellationError();
      const problem = `Flowbook cannot check the step images in ${registry} (flowbook.images.registry): ${core.inSettingsTerms(errorMessage(err))}`;
      if (options.missing === 'build') throw new UserError(problem);
      const choice = options.missing === 'base' ? 'Run with Base Images' : await vscode.window.showWarningMessage(problem, 'Run with Base Images', 'Cancel');
      if (choice !== 'Run with Base Images') throw new vscode.CancellationError();
      return undefined;
    }
    if (result.images.every((i) => i.status !== 'missing')) {
      await this.remember(doc, { steps: key, stepImages: result.stepImages });
      return result.stepImages;
    }
    const choice = options.missing === 'build' ? 'Build Step Images' : options.missing === 'base' ? 'Run with Base Images'
      : await vscode.window.showWarningMessage(`The step images of ${path.basename(doc.uri.fsPath)} are not in ${registry} yet.`, 'Build Step Images', 'Run with Base Images');
    if (choice === 'Run with Base Images') return undefined;
    if (choice !== 'Build Step Images') throw new vscode.CancellationError();
    const built = await this.buildStepImages(doc, { ...(options.requirements ? { requirements: options.requirements } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (!built) throw new vscode.CancellationError();
    return built.stepImages;
  }

  /** No registry: says which steps run in the default image without the packages they import, and which settings fix it. Does not wait for an answer. */
  private async noteDefaultImage(doc: vscode.NotebookDocument, pipeline: Pipeline): Promise<void> {
    const core = await this.ctx.core();
    const gap = core.defaultImageGap(pipeline, this.baseImage(doc, pipeline));
    if (!gap) return;
    const text = core.describeGap(gap);
    this.note = `${text.charAt(0).toUpperCase()}${text.slice(1)}. Set flowbook.images.registry to a registry you can push to (HOST/REPOSITORY) and Flowbook builds step images with them; or set flowbook.defaultImage (or the notebook's image setting) to an image that has them.`;
    this.ctx.log.warn(this.note);
    void vscode.window.showWarningMessage(this.note, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'flowbook.images');
    });
  }
}

/** What the images depend on: where they go, steps and their base images, imports, `%pip` lines. */
function stepsKey(pipeline: Pipeline, base: { image?: string }, registry: string): string {
  return JSON.stringify([registry, base.image ?? '', pipeline.steps.map((s) => [s.name, s.options.image ?? '']), pipeline.settings.image ?? '', [...pipeline.modules].sort(), pipeline.requirements]);
}
