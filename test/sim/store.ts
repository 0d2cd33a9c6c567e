// SIMULATED CLUSTER (tests only): the object store behind the simulated API server, with
// what clients rely on from etcd: one global resourceVersion counter stamped on every
// write, conditional updates (409 on a stale resourceVersion), and a bounded event history
// that watches replay from; asking for history older than the window is 410 Gone.

import * as crypto from 'node:crypto';
import type { KubeObject } from '../../src/cluster/types';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** `group/plural`, e.g. `argoproj.io/workflows`, `/pods`. */
  resource: string;
  rv: number;
  object: KubeObject;
  /** The object before this change (MODIFIED/DELETED). */
  previous?: KubeObject;
}

export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export class ObjectStore {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** Events at or below this resourceVersion are forgotten: watching from them is 410 Gone. */
  compactedRv = 1000;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(public historyLimit = 50_000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(resource: string): Map<string, KubeObject> {
    let t = this.objects.get(resource);
    if (!t) this.objects.set(resource, (t = new Map()));
    return t;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      const last = dropped[dropped.length - 1];
      if (last) this.compactedRv = Math.max(this.compactedRv, last.rv);
    }
    for (const l of [...this.listeners]) l(event);
  }

  /** Forget all history: every watch resuming from an earlier resourceVersion gets 410. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(resource)?.get(keyOf(namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  /** Live objects (not copies): callers must not mutate. Sorted by namespace/name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const t = this.objects.get(resource);
    if (!t) return [];
    const out: KubeObject[] = [];
    for (const [k, v] of t) if (namespace === undefined || k.startsWith(`${namespace}/`)) out.push(v);
    return out.sort((a, b) => keyOf(a.metadata.namespace, a.metadata.name ?? '').localeCompare(keyOf(b.metadata.namespace, b.metadata.name ?? '')));
  }

  create(resource: string, input: KubeObject, options: { dryRun?: boolean } = {}): KubeObject {
    const obj = structuredClone(input);
    const meta = obj.metadata;
    if (!meta.name) {
      if (!meta.generateName) throw new StoreError(422, 'Invalid', 'metadata.name or metadata.generateName is required');
      do meta.name = meta.generateName + crypto.randomBytes(4).toString('hex').replace(/[^a-z0-9]/g, '').slice(0, 5);
      while (this.table(resource).has(keyOf(meta.namespace, meta.name)));
    }
    const key = keyOf(meta.namespace, meta.name);
    if (this.table(resource).has(key)) {
      throw new StoreError(409, 'AlreadyExists', `${resource.split('/').reverse().join('.').replace(/\.$/, '')} "${meta.name}" already exists`);
    }
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    if (options.dryRun) {
      meta.resourceVersion = undefined;
      return obj;
    }
    meta.resourceVersion = String(++this.rv);
    this.table(resource).set(key, obj);
    this.emit({ type: 'ADDED', resource, rv: this.rv, object: structuredClone(obj) });
    return structuredClone(obj);
  }

  /** Replaces an object; a given resourceVersion must match (else 409 Conflict). */
  update(resource: string, input: KubeObject, options: { dryRun?: boolean } = {}): KubeObject {
    const meta = input.metadata;
    const key = keyOf(meta.namespace, meta.name ?? '');
    const current = this.table(resource).get(key);
    const label = `${resource.split('/').reverse().join('.').replace(/\.$/, '')} "${meta.name}"`;
    if (!current) throw new StoreError(404, 'NotFound', `${label} not found`);
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw new StoreError(409, 'Conflict', `Operation cannot be fulfilled on ${label}: the object has been modified; please apply your changes to the latest version and try again`);
    }
    const obj = structuredClone(input);
    obj.metadata.uid = current.metadata.uid;
    obj.metadata.creationTimestamp = current.metadata.creationTimestamp;
    const specChanged = JSON.stringify(obj.spec) !== JSON.stringify(current.spec);
    obj.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    if (options.dryRun) return obj;
    obj.metadata.resourceVersion = String(++this.rv);
    this.table(resource).set(key, obj);
    this.emit({ type: 'MODIFIED', resource, rv: this.rv, object: structuredClone(obj), previous: current });
    return structuredClone(obj);
  }

  /** Read-modify-write for controllers: `change` edits a copy; no event when nothing changed. */
  mutate(resource: string, namespace: string | undefined, name: string, change: (obj: KubeObject) => void): KubeObject | undefined {
    const current = this.objects.get(resource)?.get(keyOf(namespace, name));
    if (!current) return undefined;
    const copy = structuredClone(current);
    change(copy);
    if (JSON.stringify(copy) === JSON.stringify(current)) return current;
    copy.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.update(resource, copy);
  }

  delete(resource: string, namespace: string | undefined, name: string): KubeObject {
    const key = keyOf(namespace, name);
    const current = this.table(resource).get(key);
    if (!current) throw new StoreError(404, 'NotFound', `${resource.split('/').reverse().join('.').replace(/\.$/, '')} "${name}" not found`);
    this.table(resource).delete(key);
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ type: 'DELETED', resource, rv: this.rv, object: gone, previous: current });
    return gone;
  }

  /** Events after `rv` for `resource`, or undefined when they are no longer kept (410). */
  eventsSince(resource: string, rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.resource === resource && e.rv > rv);
  }
}
