// Live analysis of every open Jupyter notebook: the pipeline as the editor shows it, with
// unsaved edits. Changes are coalesced (the first change after a quiet period is analysed at
// once, later ones at most every THROTTLE_MS), and analysis is incremental because the
// compiler caches each cell's Python analysis by its source. Consumers (chips, diagnostics,
// trees, the graph) listen to `onDidAnalyze`; they never analyse themselves.

import * as vscode from 'vscode';
import type { Diagnostic } from '../converter/diagnostics';
import type { CellRole, Notebook, NotebookCell, NotebookSettings, Pipeline } from '../converter/ir';
import { parseNotebook } from '../converter/notebook';
import { parseCellTags } from '../converter/tags';
import { Disposable } from './lifecycle';
import type { Ctx } from './context';
import { pipelineMode, type PipelineMode } from './pipelineMode';

/** How often a notebook is re-analysed at most while the user types. */
export const THROTTLE_MS = 150;

/** What the editor shows about one cell. */
export interface CellInfo {
  index: number;
  kind: 'code' | 'markdown' | 'raw';
  /** The effective role: the cell's own tag, or the one it inherits from the cell above (Kale's rule). */
  role?: CellRole;
  /** The step the cell's code runs in. */
  step?: string;
  /** True for the first cell of its step: the one that shows the step's inputs. */
  firstOfStep: boolean;
  tags: string[];
  diagnostics: Diagnostic[];
}

export interface NotebookAnalysis {
  readonly document: vscode.NotebookDocument;
  /** Increases with every analysis of this notebook. */
  readonly version: number;
  readonly pipeline: Pipeline;
  /** By cell index at the time of analysis. */
  readonly cells: readonly CellInfo[];
  /** By cell document URI: stable while cells move. */
  readonly byCellUri: ReadonlyMap<string, CellInfo>;
  /** From the first change not yet analysed to the end of this analysis. */
  readonly latencyMs: number;
  /** The analysis itself (building the notebook and the pipeline). */
  readonly analysisMs: number;
  /** Whether Flowbook treats the notebook as a pipeline (tags, settings or the switch), and why. */
  readonly mode: PipelineMode;
}

interface State {
  document: vscode.NotebookDocument;
  version: number;
  timer?: ReturnType<typeof setTimeout>;
  running: boolean;
  dirty: boolean;
  /** When the oldest change not yet analysed arrived. */
  pendingSince?: number;
  lastRun: number;
  result?: NotebookAnalysis;
  waiters: (() => void)[];
  settingsKey?: string;
  settings?: { settings: NotebookSettings; diagnostics: Diagnostic[] };
}

export const NOTEBOOK_TYPE = 'jupyter-notebook';

export class NotebookModels extends Disposable {
  private readonly states = new Map<string, State>();
  private reportedFailure = false;
  private readonly analyzed = this._register(new vscode.EventEmitter<NotebookAnalysis>());
  /** Fires after a notebook was analysed. */
  readonly onDidAnalyze = this.analyzed.event;
  private readonly closed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidClose = this.closed.event;

  constructor(private readonly ctx: Ctx) {
    super();
    this._register(vscode.workspace.onDidOpenNotebookDocument((doc) => this.track(doc)));
    this._register(vscode.workspace.onDidCloseNotebookDocument((doc) => {
      const key = doc.uri.toString();
      const state = this.states.get(key);
      if (state?.timer) clearTimeout(state.timer);
      this.states.delete(key);
      this.closed.fire(doc.uri);
    }));
    this._register(vscode.workspace.onDidChangeNotebookDocument((e) => {
      const state = this.states.get(e.notebook.uri.toString());
      // Outputs and execution results do not change the pipeline: only sources, cells and metadata do.
      const relevant = e.contentChanges.length > 0 || e.metadata !== undefined
        || e.cellChanges.some((c) => c.document !== undefined || c.metadata !== undefined);
      if (state && relevant) this.schedule(state);
    }));
    this._register({ dispose: () => this.states.forEach((s) => s.timer && clearTimeout(s.timer)) });
    for (const doc of vscode.workspace.notebookDocuments) this.track(doc);
  }

  private track(doc: vscode.NotebookDocument): void {
    if (doc.notebookType !== NOTEBOOK_TYPE || this.states.has(doc.uri.toString())) return;
    const state: State = { document: doc, version: 0, running: false, dirty: false, lastRun: 0, waiters: [] };
    this.states.set(doc.uri.toString(), state);
    this.schedule(state);
  }

  /** The latest analysis of a notebook, if any. */
  get(uri: vscode.Uri): NotebookAnalysis | undefined {
    return this.states.get(uri.toString())?.result;
  }

  /** All notebooks with an analysis. */
  all(): NotebookAnalysis[] {
    return [...this.states.values()].flatMap((s) => (s.result ? [s.result] : []));
  }

  /** The analysis of the notebook as it is now (waits for pending changes); undefined for other notebook types. */
  async current(doc: vscode.NotebookDocument): Promise<NotebookAnalysis | undefined> {
    if (doc.notebookType !== NOTEBOOK_TYPE) return undefined;
    this.track(doc);
    const state = this.states.get(doc.uri.toString());
    if (!state) return undefined;
    if (!state.dirty && !state.running && state.timer === undefined) return state.result;
    await new Promise<void>((resolve) => state.waiters.push(resolve));
    return state.result;
  }

  private schedule(state: State): void {
    state.dirty = true;
    state.pendingSince ??= performance.now();
    if (state.timer !== undefined || state.running) return;
    const wait = Math.max(0, state.lastRun + THROTTLE_MS - performance.now());
    state.timer = setTimeout(() => void this.run(state), wait);
  }

  private async run(state: State): Promise<void> {
    state.timer = undefined;
    state.running = true;
    try {
      // The first analysis waits for the grammar to load; later ones are synchronous.
      const compiler = await this.ctx.compiler();
      if (!this.states.has(state.document.uri.toString())) return;
      const since = state.pendingSince ?? performance.now();
      state.dirty = false;
      state.pendingSince = undefined;
      const started = performance.now();
      const { notebook, diagnostics } = this.toNotebook(state);
      const pipeline = compiler.analyze(notebook, diagnostics);
      const cells = cellInfos(notebook, pipeline);
      const byCellUri = new Map<string, CellInfo>();
      state.document.getCells().forEach((cell, i) => {
        const info = cells[i];
        if (info) byCellUri.set(cell.document.uri.toString(), info);
      });
      const now = performance.now();
      state.version += 1;
      const meta = (state.document.metadata as { metadata?: Record<string, unknown> }).metadata;
      const mode = pipelineMode(meta, notebook.cells.filter((c) => c.kind === 'code').map((c) => c.tags));
      state.result = {
        document: state.document, version: state.version, pipeline, cells, byCellUri,
        latencyMs: now - since, analysisMs: now - started, mode,
      };
      state.lastRun = now;
      this.analyzed.fire(state.result);
    } catch (err) {
      // Not retried on its own (a grammar that cannot load would fail forever); the next
      // edit tries again. The user hears about it once.
      state.dirty = false;
      state.pendingSince = undefined;
      if (!this.reportedFailure) {
        this.reportedFailure = true;
        this.ctx.showError(`Flowbook cannot analyse ${state.document.uri.path.split('/').pop() ?? 'the notebook'}: ${err instanceof Error ? err.message : String(err)}`, err);
      } else {
        this.ctx.log.error(`cannot analyse ${state.document.uri.fsPath}`, err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
    } finally {
      state.running = false;
      if (state.dirty) {
        this.schedule(state);
      } else {
        for (const resolve of state.waiters.splice(0)) resolve();
      }
    }
  }

  /** The notebook IR for the document as the editor holds it, unsaved edits included. */
  private toNotebook(state: State): { notebook: Notebook; diagnostics: Diagnostic[] } {
    const doc = state.document;
    const path = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.path;
    const settings = this.notebookSettings(state, path);
    const cells: NotebookCell[] = doc.getCells().map((cell) => {
      const c: NotebookCell = {
        index: cell.index,
        kind: cellKind(cell),
        source: cell.document.getText(),
        tags: cellTags(cell),
      };
      const id: unknown = cell.metadata['id'];
      if (typeof id === 'string') c.id = id;
      return c;
    });
    const meta = doc.metadata as { nbformat?: unknown; nbformat_minor?: unknown };
    const notebook: Notebook = {
      path,
      nbformat: typeof meta.nbformat === 'number' ? meta.nbformat : 4,
      nbformatMinor: typeof meta.nbformat_minor === 'number' ? meta.nbformat_minor : 5,
      cells,
      settings: settings.settings,
    };
    return { notebook, diagnostics: [...settings.diagnostics] };
  }

  /**
   * Notebook-level settings, read by the converter's own parser from the notebook metadata
   * alone (no cells), and cached until the metadata changes.
   */
  private notebookSettings(state: State, path: string): { settings: NotebookSettings; diagnostics: Diagnostic[] } {
    const meta = state.document.metadata as { metadata?: unknown };
    const key = JSON.stringify(meta.metadata ?? {});
    if (state.settings && state.settingsKey === key) return state.settings;
    let result: { settings: NotebookSettings; diagnostics: Diagnostic[] };
    try {
      const parsed = parseNotebook(`{"nbformat":4,"nbformat_minor":5,"metadata":${key},"cells":[]}`, path);
      result = { settings: parsed.notebook.settings, diagnostics: parsed.diagnostics };
    } catch {
      result = { settings: { volumes: [], stepDefaults: [] }, diagnostics: [] };
    }
    state.settingsKey = key;
    state.settings = result;
    return result;
  }
}

export function cellKind(cell: vscode.NotebookCell): 'code' | 'markdown' | 'raw' {
  if (cell.kind === vscode.NotebookCellKind.Markup) return 'markdown';
  return cell.document.languageId === 'raw' ? 'raw' : 'code';
}

/** `metadata.tags` of a cell as VS Code's ipynb support stores it (`cell.metadata.metadata.tags`). */
export function cellTags(cell: vscode.NotebookCell): string[] {
  const inner = cell.metadata['metadata'] as { tags?: unknown } | undefined;
  const tags = inner?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** Per-cell roles and steps: the pipeline's step membership, Kale's inheritance for the rest. */
export function cellInfos(notebook: Notebook, pipeline: Pipeline): CellInfo[] {
  const stepOfCell = new Map<number, string>();
  const firstCells = new Set<number>();
  for (const step of pipeline.steps) {
    for (const c of step.cells) stepOfCell.set(c, step.name);
    if (step.cells[0] !== undefined) firstCells.add(step.cells[0]);
  }
  const byCell = new Map<number, Diagnostic[]>();
  for (const d of pipeline.diagnostics) {
    if (d.cell === undefined) continue;
    const list = byCell.get(d.cell) ?? [];
    list.push(d);
    byCell.set(d.cell, list);
  }
  const prelude = new Map<number, CellRole>();
  for (const c of pipeline.imports) prelude.set(c.cell, 'imports');
  for (const c of pipeline.functions) prelude.set(c.cell, 'functions');
  const scratch: Diagnostic[] = [];
  // Like the pipeline builder: an untagged cell continues the block above it; parameters
  // and metrics cells stand alone and do not start a block.
  let block: CellRole | undefined;
  return notebook.cells.map((cell) => {
    const info: CellInfo = {
      index: cell.index, kind: cell.kind, firstOfStep: firstCells.has(cell.index),
      tags: cell.tags, diagnostics: byCell.get(cell.index) ?? [],
    };
    if (cell.kind !== 'code') return info;
    const own = parseCellTags(cell.tags, cell.index, scratch).role;
    if (own !== undefined && own !== 'parameters' && own !== 'metrics') block = own;
    const step = stepOfCell.get(cell.index);
    const role = step !== undefined ? 'step' : (prelude.get(cell.index) ?? (own === 'parameters' || own === 'metrics' || own === 'skip' ? own : block === 'skip' ? 'skip' : undefined));
    if (step !== undefined) info.step = step;
    if (role !== undefined) info.role = role;
    return info;
  });
}
