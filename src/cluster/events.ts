// A minimal typed event emitter with the shape of VS Code's `Event<T>` (a function that
// takes a listener and returns a disposable), so the extension can adapt cluster models
// with `new vscode.EventEmitter` or use these events directly. A listener that throws
// never stops the others.

export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => void) => Disposable;

export class Emitter<T> implements Disposable {
  private listeners = new Set<(e: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(e: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(e);
      } catch (err) {
        // A broken listener must not hide the event from the others; report it once.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** Resolves the first time `event` fires with a value `accept` takes (or rejects on abort). */
export function nextEvent<T>(event: Event<T>, accept: (e: T) => boolean = () => true, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      sub.dispose();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const sub = event((e) => {
      if (!accept(e)) return;
      sub.dispose();
      signal?.removeEventListener('abort', onAbort);
      resolve(e);
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
