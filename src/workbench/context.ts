// The extension's context object: the one log channel, the settings snapshot and the
// lazily loaded compiler. Feature modules receive it instead of reaching for globals.
// Invariant: nothing heavy (tree-sitter, the emitter, the runner) loads before first use.

import * as vscode from 'vscode';
import { Disposable } from './lifecycle';
import { readSettings, SECTION, type Settings } from './settings';
import type * as Core from './core';
import type { Compiler } from '../converter/index';

export type CoreModule = typeof Core;

export class Ctx extends Disposable {
  readonly log: vscode.LogOutputChannel;
  private snapshot: Settings;
  /** Resource-scoped snapshots by workspace folder (or '' for files outside any folder). */
  private readonly byFolder = new Map<string, Settings>();
  private readonly settingsChanged = this._register(new vscode.EventEmitter<Settings>());
  /** Fires after the settings snapshot was refreshed. */
  readonly onDidChangeSettings = this.settingsChanged.event;
  private coreModule?: Promise<CoreModule>;
  private compilerInstance?: Promise<Compiler>;

  constructor(readonly extension: vscode.ExtensionContext) {
    super();
    this.log = this._register(vscode.window.createOutputChannel('Flowbook', { log: true }));
    this.snapshot = readSettings();
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(SECTION)) return;
      this.snapshot = readSettings();
      this.byFolder.clear();
      this.log.info('settings changed', JSON.stringify(this.snapshot));
      this.settingsChanged.fire(this.snapshot);
    }));
    this._register(vscode.workspace.onDidGrantWorkspaceTrust(() => {
      this.snapshot = readSettings();
      this.byFolder.clear();
      this.settingsChanged.fire(this.snapshot);
    }));
  }

  get settings(): Settings {
    return this.snapshot;
  }

  /** Settings for one resource (a notebook): resource-scoped values may differ per workspace folder. */
  settingsFor(uri: vscode.Uri): Settings {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const key = folder?.uri.toString() ?? '';
    let settings = this.byFolder.get(key);
    if (!settings) {
      settings = readSettings(folder?.uri ?? uri);
      this.byFolder.set(key, settings);
    }
    return settings;
  }

  /** Where the bundled tree-sitter wasm files are: next to the extension bundle. */
  get wasmDir(): string {
    return vscode.Uri.joinPath(this.extension.extensionUri, 'dist').fsPath;
  }

  /** The compiler, emitter and runner, loaded on first use (they pull in the Python grammar). */
  core(): Promise<CoreModule> {
    this.coreModule ??= import(/* webpackChunkName: "core" */ './core.js');
    return this.coreModule;
  }

  /** One compiler for the extension's lifetime: the grammar loads once, cell analyses are cached. */
  compiler(): Promise<Compiler> {
    this.compilerInstance ??= (async () => {
      const started = performance.now();
      const { Compiler } = await this.core();
      const compiler = await Compiler.create({ wasmDir: this.wasmDir });
      this.log.info(`Python grammar loaded in ${Math.round(performance.now() - started)} ms`);
      return compiler;
    })();
    this.compilerInstance.catch(() => {
      this.compilerInstance = undefined; // allow a retry after a failed load
    });
    return this.compilerInstance;
  }

  /**
   * Shows a short error toast with an "Open Output" action; the details go to the log.
   * Use for failures of user actions, never for expected conditions.
   */
  showError(message: string, error?: unknown): void {
    if (error !== undefined) this.log.error(message, error instanceof Error ? (error.stack ?? error.message) : String(error));
    else this.log.error(message);
    void vscode.window.showErrorMessage(message, 'Open Output').then((choice) => {
      if (choice === 'Open Output') this.log.show(true);
    });
  }
}

/** The message of an error, for toasts: the first line only. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
