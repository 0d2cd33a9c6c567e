// Disposable discipline: everything that registers something is owned by a `Disposable`
// through `_register`, so disposing the owner (ultimately the extension context) releases
// it. No `register*` return value is dropped.

import * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private disposed = false;

  protected _register<T extends vscode.Disposable>(value: T): T {
    if (this.disposed) value.dispose();
    else this.owned.push(value);
    return value;
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Release in reverse order: later registrations may depend on earlier ones.
    for (const d of this.owned.splice(0).reverse()) {
      try {
        d.dispose();
      } catch {
        // A failing dispose must not stop the others from being released.
      }
    }
  }
}

/** A disposable for a `setTimeout`, so timers are owned like everything else. */
export function timerDisposable(handle: ReturnType<typeof setTimeout>): vscode.Disposable {
  return { dispose: () => clearTimeout(handle) };
}
