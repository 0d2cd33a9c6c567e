// List-then-watch for one resource type in one namespace, the way client-go's reflector
// does it: list (paged), then watch from the list's resourceVersion with bookmarks; after
// a dropped connection resume from the last resourceVersion seen (no re-list); re-list only
// on 410 Gone. Changes are coalesced into one event per burst, so a tree refreshes once
// per batch, not once per object. Invariant: `items` always equals the server's state as
// of `resourceVersion`, plus changes not yet flushed to listeners.

import type { ClusterClient } from './client';
import { ClusterError } from './errors';
import { Emitter, Event } from './events';
import type { ResourceType } from './resources';
import type { KubeObject, KubeStatus } from './types';

export interface WatchTarget {
  type: ResourceType;
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type WatchState =
  | { kind: 'idle' }
  | { kind: 'listing' }
  | { kind: 'watching' }
  /** A call failed; the watcher tries again after `delayMs`. */
  | { kind: 'retrying'; error: ClusterError; attempt: number; delayMs: number }
  | { kind: 'stopped' };

/** One coalesced batch of changes. `relisted`: the batch comes from a full re-list (after 410 Gone). */
export interface Changes<T> {
  added: T[];
  modified: T[];
  deleted: T[];
  initial: boolean;
  relisted: boolean;
}

export interface WatcherOptions {
  /** Changes arriving within this window are delivered together. Default 50 ms. */
  coalesceMs?: number;
  /** Items per list page. Default 500. */
  pageSize?: number;
  /** First delay after a failure; doubles up to `maxBackoffMs`. Default 500 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch timeout; the watch is re-opened from the last resourceVersion. Default 300 s. */
  watchTimeoutSeconds?: number;
}

export interface WatcherStats {
  lists: number;
  listPages: number;
  watches: number;
  relists: number;
  events: number;
  bookmarks: number;
  reconnects: number;
}

type Pending<T> = { type: 'added' | 'modified' | 'deleted'; object: T };

function pathOf(target: WatchTarget): string {
  const t = target.type;
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  return `${base}/namespaces/${encodeURIComponent(target.namespace)}/${t.plural}`;
}

export class ResourceWatcher<T extends KubeObject> {
  private readonly items_ = new Map<string, T>();
  private rv: string | undefined;
  private state_: WatchState = { kind: 'idle' };
  private disposed = false;
  private started = false;
  private abortWatch?: AbortController;
  private readonly abortAll = new AbortController();
  private pending = new Map<string, Pending<T>>();
  private pendingFlags = { initial: false, relisted: false };
  private flushTimer?: NodeJS.Timeout;
  private synced_ = false;
  /** The last watch got as far as a 200 response: its failure starts the backoff afresh. */
  private watchOpened = false;
  private syncedWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly changeEmitter = new Emitter<Changes<T>>();
  private readonly stateEmitter = new Emitter<WatchState>();
  private readonly options: Required<WatcherOptions>;
  readonly stats: WatcherStats = { lists: 0, listPages: 0, watches: 0, relists: 0, events: 0, bookmarks: 0, reconnects: 0 };

  /** Fires once per coalesced batch of changes. */
  readonly onDidChange: Event<Changes<T>> = this.changeEmitter.event;
  /** Fires when the connection state changes (listing, watching, retrying with the error). */
  readonly onDidChangeState: Event<WatchState> = this.stateEmitter.event;

  constructor(
    private readonly client: ClusterClient,
    readonly target: WatchTarget,
    options: WatcherOptions = {},
  ) {
    this.options = {
      coalesceMs: options.coalesceMs ?? 50,
      pageSize: options.pageSize ?? 500,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
    };
  }

  get state(): WatchState {
    return this.state_;
  }

  /** The objects by name. */
  get items(): ReadonlyMap<string, T> {
    return this.items_;
  }

  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /** True once the first list has completed. */
  get synced(): boolean {
    return this.synced_;
  }

  start(): this {
    if (!this.started && !this.disposed) {
      this.started = true;
      void this.run();
    }
    return this;
  }

  /** Resolves after the first list (rejects if disposed first). */
  whenSynced(): Promise<void> {
    if (this.synced_) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.disposed) reject(new ClusterError('aborted', 'The watch was stopped.'));
      else this.syncedWaiters.push({ resolve, reject });
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.abortAll.abort();
    this.abortWatch?.abort();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const w of this.syncedWaiters.splice(0)) w.reject(new ClusterError('aborted', 'The watch was stopped.'));
    this.setState({ kind: 'stopped' });
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }

  private setState(state: WatchState): void {
    this.state_ = state;
    this.stateEmitter.fire(state);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.disposed) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const result = await this.watchOnce();
        if (this.disposed) return;
        if (result.gone) {
          this.stats.relists++;
          needList = true;
          continue;
        }
        if (result.error === undefined) {
          // The server closed the watch (timeout): resume at once from the last resourceVersion.
          failures = 0;
          this.watchOpened = false;
          // A watch that closes at once, again and again, must not become a busy loop.
          if (!result.delivered) await delayFor(this.options.backoffMs, this.abortAll.signal).catch(() => undefined);
          continue;
        }
        throw result.error;
      } catch (raw) {
        if (this.disposed) return;
        const err = raw instanceof ClusterError ? raw : this.client.toError(raw, { verb: 'watch', type: this.target.type, namespace: this.target.namespace });
        if (err.kind === 'gone') {
          this.stats.relists++;
          needList = true;
          continue;
        }
        if (this.watchOpened) failures = 0;
        this.watchOpened = false;
        failures++;
        this.stats.reconnects++;
        // Credentials and permissions do not fix themselves quickly: wait the longest.
        const slow = err.kind === 'unauthorized' || err.kind === 'forbidden' || err.kind === 'crdMissing' || err.kind === 'namespaceNotFound';
        const delay = slow ? this.options.maxBackoffMs : Math.min(this.options.backoffMs * 2 ** (failures - 1), this.options.maxBackoffMs);
        this.setState({ kind: 'retrying', error: err, attempt: failures, delayMs: delay });
        try {
          await delayFor(delay, this.abortAll.signal);
        } catch {
          return;
        }
      }
    }
  }

  private async list(): Promise<void> {
    this.setState({ kind: 'listing' });
    this.stats.lists++;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let rv: string | undefined;
    do {
      this.stats.listPages++;
      const page = await this.client.list<T>(this.target.type, this.target.namespace, {
        labelSelector: this.target.labelSelector,
        fieldSelector: this.target.fieldSelector,
        limit: this.options.pageSize,
        continueToken,
        signal: this.abortAll.signal,
      });
      for (const item of page.items) {
        if (item.metadata.name) fresh.set(item.metadata.name, withKind(item, this.target.type));
      }
      rv ??= page.metadata?.resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken && !this.disposed);
    if (this.disposed) return;

    const first = !this.synced_;
    for (const [name, obj] of fresh) {
      const old = this.items_.get(name);
      if (!old) this.queue('added', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.queue('modified', obj);
      this.items_.set(name, obj);
    }
    for (const [name, old] of [...this.items_]) {
      if (!fresh.has(name)) {
        this.items_.delete(name);
        this.queue('deleted', old);
      }
    }
    this.rv = rv;
    if (first) this.pendingFlags.initial = true;
    else this.pendingFlags.relisted = true;
    // The first list and re-lists are delivered at once: the view is waiting for them.
    this.flush();
    if (first) {
      this.synced_ = true;
      for (const w of this.syncedWaiters.splice(0)) w.resolve();
    }
  }

  private watchOnce(): Promise<{ error?: unknown; gone: boolean; delivered: boolean }> {
    return new Promise((resolve) => {
      let gone = false;
      let delivered = false;
      let settled = false;
      const settle = (error: unknown) => {
        if (settled) return;
        settled = true;
        this.abortWatch = undefined;
        resolve(error === null || error === undefined || gone || this.disposed ? { gone, delivered } : { error, gone, delivered });
      };
      this.stats.watches++;
      const query: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        timeoutSeconds: this.options.watchTimeoutSeconds,
        labelSelector: this.target.labelSelector,
        fieldSelector: this.target.fieldSelector,
      };
      const onEvent = (type: string, object: unknown) => {
        if (this.disposed || settled) return;
        delivered = true;
        if (type === 'ERROR') {
          const status = object as KubeStatus;
          if (status.code === 410) {
            gone = true;
            this.abortWatch?.abort();
            settle(null);
          } else {
            const err = this.client.toError({ statusCode: status.code ?? 500, body: status }, { verb: 'watch', type: this.target.type, namespace: this.target.namespace });
            this.abortWatch?.abort();
            settle(err);
          }
          return;
        }
        const obj = object as T;
        const version = obj?.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          this.stats.bookmarks++;
          if (version) this.rv = version;
          return;
        }
        const name = obj?.metadata?.name;
        if (!name) return;
        this.stats.events++;
        const item = withKind(obj, this.target.type);
        if (type === 'DELETED') {
          this.items_.delete(name);
          this.queue('deleted', item);
        } else {
          const existed = this.items_.has(name);
          this.items_.set(name, item);
          this.queue(existed ? 'modified' : 'added', item);
        }
        if (version) this.rv = version;
        this.scheduleFlush();
      };
      this.client
        .newWatch()
        .watch(pathOf(this.target), query, onEvent, (err: unknown) => settle(err))
        .then((controller) => {
          if (settled || this.disposed) controller.abort();
          else {
            this.abortWatch = controller;
            this.watchOpened = true;
            this.setState({ kind: 'watching' });
          }
        })
        .catch((err: unknown) => settle(err));
    });
  }

  private queue(type: Pending<T>['type'], object: T): void {
    const name = object.metadata.name ?? '';
    const prev = this.pending.get(name);
    if (!prev) {
      this.pending.set(name, { type, object });
      return;
    }
    if (prev.type === 'added' && type === 'deleted') this.pending.delete(name);
    else if (prev.type === 'added') this.pending.set(name, { type: 'added', object });
    else if (prev.type === 'deleted' && type === 'added') this.pending.set(name, { type: 'modified', object });
    else this.pending.set(name, { type, object });
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.disposed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, this.options.coalesceMs);
  }

  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const flags = this.pendingFlags;
    if (this.pending.size === 0 && !flags.initial && !flags.relisted) return;
    const changes: Changes<T> = { added: [], modified: [], deleted: [], initial: flags.initial, relisted: flags.relisted };
    for (const p of this.pending.values()) changes[p.type].push(p.object);
    this.pending = new Map();
    this.pendingFlags = { initial: false, relisted: false };
    this.changeEmitter.fire(changes);
  }
}

/** List items come without `kind`/`apiVersion`; set them so an item can be written back as is. */
function withKind<T extends KubeObject>(obj: T, type: ResourceType): T {
  if (obj.kind && obj.apiVersion) return obj;
  obj.kind ??= type.kind;
  obj.apiVersion ??= type.group ? `${type.group}/${type.version}` : type.version;
  return obj;
}

function delayFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
