// Step logs that outlive pods. `StepLogStream` follows the main container's log and
// appends every line to the local run record as it arrives, keeping only a bounded tail
// in memory (the full text is on disk, and the socket is paused while the disk catches
// up). Lines are requested with timestamps so a dropped connection resumes with
// `sinceTime` and no line is written twice. `readStepLog` answers "show me the log" for
// any step: the kept record, the pod, the archived log artifact, or a clear "it is gone".

import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import type { ClusterClient } from './client';
import { fetchArtifactText } from './artifacts';
import { ClusterError } from './errors';
import { Emitter, Event } from './events';
import { MAIN_CONTAINER, PODS } from './resources';
import type { RunLocation, RunRecordStore } from './runRecord';
import type { StepState } from './runStatus';
import type { Workflow } from './types';

export interface LogSource extends RunLocation {
  nodeId: string;
  podName: string;
  step?: string;
}

export type LogEndReason = 'completed' | 'podGone' | 'stopped' | 'error';

export interface LogEnd {
  reason: LogEndReason;
  /** For `error`: what went wrong last. */
  error?: ClusterError;
  /** Bytes kept on disk. */
  bytes: number;
}

export type LogStreamState = 'idle' | 'waiting' | 'streaming' | 'reconnecting' | 'ended';

export interface LogStreamOptions {
  /** Keep the connection open for new lines (default true). */
  follow?: boolean;
  /** Bytes of the log kept in memory for `tail()` (default 64 KiB). */
  tailBytes?: number;
  /** Delay before reconnecting after a drop; doubles per failure (default 300 ms). */
  reconnectDelayMs?: number;
  /** Failed connections in a row before giving up (default 8). */
  maxReconnects?: number;
  /** How often to ask again while the container has not started (default 1 s). */
  waitPollMs?: number;
  container?: string;
}

export interface LogStreamStats {
  bytesWritten: number;
  linesWritten: number;
  duplicatesSkipped: number;
  connections: number;
  reconnects: number;
  /** Highest number of bytes waiting to be written to disk at any moment. */
  maxPendingBytes: number;
}

/** Kubelet timestamps (RFC 3339, up to 9 fraction digits) made comparable as strings. */
export function normalizeTimestamp(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts);
  if (!m) return ts;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}Z`;
}

export class StepLogStream {
  private readonly appendEmitter = new Emitter<string>();
  private readonly endEmitter = new Emitter<LogEnd>();
  private readonly stateEmitter = new Emitter<LogStreamState>();
  private readonly options: Required<LogStreamOptions>;
  private state_: LogStreamState = 'idle';
  private tailText = '';
  private readonly seen = new SeenLines();
  private bytes = 0;
  private file?: fs.WriteStream;
  private response?: http.IncomingMessage;
  private readonly abort = new AbortController();
  private stopped = false;
  private ended?: LogEnd;
  private running?: Promise<LogEnd>;
  private metaTimer?: NodeJS.Timeout;
  private cleanEnd = false;
  readonly stats: LogStreamStats = { bytesWritten: 0, linesWritten: 0, duplicatesSkipped: 0, connections: 0, reconnects: 0, maxPendingBytes: 0 };

  /** New log text (whole lines), in order. */
  readonly onDidAppend: Event<string> = this.appendEmitter.event;
  /** Fires once when the stream ends, with why. */
  readonly onDidEnd: Event<LogEnd> = this.endEmitter.event;
  readonly onDidChangeState: Event<LogStreamState> = this.stateEmitter.event;

  constructor(
    private readonly client: ClusterClient,
    private readonly records: RunRecordStore,
    readonly source: LogSource,
    options: LogStreamOptions = {},
  ) {
    this.options = {
      follow: options.follow ?? true,
      tailBytes: options.tailBytes ?? 64 * 1024,
      reconnectDelayMs: options.reconnectDelayMs ?? 300,
      maxReconnects: options.maxReconnects ?? 8,
      waitPollMs: options.waitPollMs ?? 1000,
      container: options.container ?? MAIN_CONTAINER,
    };
  }

  get state(): LogStreamState {
    return this.state_;
  }

  /** The file the full log is kept in. */
  get path(): string {
    return this.records.logPath(this.source, this.source.nodeId);
  }

  /** The last `tailBytes` of the log (whole lines). */
  tail(): string {
    return this.tailText;
  }

  private setState(s: LogStreamState): void {
    if (this.state_ === s) return;
    this.state_ = s;
    this.stateEmitter.fire(s);
  }

  /** Starts streaming (once); resolves when the stream ends. */
  start(): Promise<LogEnd> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops streaming; what was received stays on disk. */
  dispose(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.response?.destroy();
    if (!this.running) this.finish({ reason: 'stopped', bytes: this.bytes });
  }

  private async run(): Promise<LogEnd> {
    const meta = this.records.readLogMeta(this.source, this.source.nodeId);
    if (meta) {
      this.bytes = meta.bytes;
      if (meta.lastTimestamp) this.seen.last = meta.lastTimestamp;
      this.seen.atLast = meta.linesAtLastTimestamp ?? 0;
      const kept = this.records.readLog(this.source, this.source.nodeId, this.options.tailBytes);
      if (kept && kept.text) {
        this.tailText = kept.text;
        this.appendEmitter.fire(kept.text);
      }
      if (meta.complete) return this.finish({ reason: 'completed', bytes: this.bytes });
    }
    fs.mkdirSync(path.dirname(this.path), { recursive: true });
    this.file = fs.createWriteStream(this.path, { flags: 'a' });
    this.metaTimer = setInterval(() => this.saveMeta(false), 1000);
    let failures = 0;
    while (!this.stopped) {
      let outcome: 'ended' | 'dropped';
      try {
        this.setState(this.stats.connections === 0 ? 'streaming' : 'reconnecting');
        outcome = await this.connectOnce();
        this.cleanEnd = outcome === 'ended';
        failures = 0;
      } catch (raw) {
        if (this.stopped) break;
        const err = raw instanceof ClusterError ? raw : this.client.toError(raw, { verb: 'get', type: PODS, subresource: 'log', namespace: this.source.namespace, name: this.source.podName });
        if (err.kind === 'notFound') return this.finishWith('podGone');
        if (err.kind === 'invalid' && /waiting to start|ContainerCreating|PodInitializing/i.test(err.details.serverMessage ?? err.message)) {
          // The container has not started yet: wait for it, this is not a failure.
          this.setState('waiting');
          await this.sleep(this.options.waitPollMs);
          continue;
        }
        if (!err.transient && err.kind !== 'unknown') return this.finishWith('error', err);
        failures++;
        if (failures > this.options.maxReconnects) return this.finishWith('error', err);
        outcome = 'dropped';
      }
      if (this.stopped) break;
      if (!this.options.follow && outcome === 'ended') {
        const done = await this.containerFinished().catch(() => undefined);
        return this.finishWith(done === 'gone' ? 'podGone' : 'completed', undefined, done === 'terminated');
      }
      if (outcome === 'ended') {
        // A follow stream ends when the container ends, or when a proxy cuts it: ask the pod.
        // If the pod cannot be read now, reconnecting tells soon enough.
        const done = await this.containerFinished().catch(() => undefined);
        if (done === 'terminated') return this.finishWith('completed', undefined, true);
        if (done === 'gone') return this.finishWith('podGone');
      }
      this.stats.reconnects++;
      this.setState('reconnecting');
      await this.sleep(Math.min(this.options.reconnectDelayMs * 2 ** Math.max(0, failures - 1), 10_000));
    }
    return this.finish({ reason: 'stopped', bytes: this.bytes });
  }

  private sleep(ms: number): Promise<void> {
    return this.client.pause(ms, this.abort.signal).catch(() => undefined);
  }

  /** `terminated`, `gone`, or undefined while the main container still runs. */
  private async containerFinished(): Promise<'terminated' | 'gone' | undefined> {
    const pod = await this.client.findPod(this.source.namespace, this.source.podName, this.abort.signal);
    if (!pod) return 'gone';
    const main = pod.status?.containerStatuses?.find((c) => c.name === this.options.container);
    if (main?.state?.terminated) return 'terminated';
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 'terminated';
    return undefined;
  }

  /** One log request. Resolves `ended` on a clean end of the response, `dropped` when it broke off. */
  private async connectOnce(): Promise<'ended' | 'dropped'> {
    const { namespace, podName } = this.source;
    const query: Record<string, string | boolean> = { container: this.options.container, timestamps: true, follow: this.options.follow };
    // sinceTime has second precision: the server repeats that second; the skip logic drops the repeats.
    const since = this.seen.sinceTime();
    if (since) query.sinceTime = since;
    const res = await this.client.openStream(
      { verb: 'get', type: PODS, subresource: 'log', namespace, name: podName },
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}/log`,
      query,
      this.abort.signal,
    );
    this.stats.connections++;
    this.response = res;
    this.seen.resume();
    let partial = '';
    return new Promise((resolve) => {
      let settled = false;
      let ended = false;
      const settle = (outcome: 'ended' | 'dropped') => {
        if (settled) return;
        settled = true;
        this.response = undefined;
        resolve(outcome);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const text = partial + chunk;
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        let out = '';
        for (const line of lines) {
          const body = this.seen.take(line);
          if (body === undefined) {
            this.stats.duplicatesSkipped++;
            continue;
          }
          out += `${body}\n`;
          this.stats.linesWritten++;
        }
        if (out) this.write(out, res);
      });
      res.on('end', () => {
        ended = true;
        settle('ended');
      });
      res.on('error', () => settle('dropped'));
      res.on('close', () => settle(ended ? 'ended' : 'dropped'));
    });
  }

  private write(text: string, res: http.IncomingMessage): void {
    const file = this.file;
    if (!file) return;
    const size = Buffer.byteLength(text);
    this.bytes += size;
    this.stats.bytesWritten += size;
    // Backpressure: hold the socket while the disk is behind, so memory stays bounded.
    if (!file.write(text)) {
      res.pause();
      file.once('drain', () => res.resume());
    }
    this.stats.maxPendingBytes = Math.max(this.stats.maxPendingBytes, file.writableLength);
    this.tailText += text;
    if (this.tailText.length > this.options.tailBytes * 2) this.trimTail();
    this.appendEmitter.fire(text);
  }

  private trimTail(): void {
    if (this.tailText.length <= this.options.tailBytes) return;
    const cut = this.tailText.length - this.options.tailBytes;
    const nl = this.tailText.indexOf('\n', cut);
    this.tailText = nl < 0 ? this.tailText.slice(cut) : this.tailText.slice(nl + 1);
  }

  private saveMeta(complete: boolean): void {
    const meta = {
      podName: this.source.podName,
      bytes: this.bytes,
      complete,
      ...(this.cleanEnd ? { cleanEnd: true } : {}),
      source: 'pod' as const,
      ...(this.source.step ? { step: this.source.step } : {}),
      ...(this.seen.last ? { lastTimestamp: this.seen.last, linesAtLastTimestamp: this.seen.atLast } : {}),
      updatedAt: new Date().toISOString(),
    };
    this.records.writeLogMeta(this.source, this.source.nodeId, meta);
  }

  private async finishWith(reason: LogEndReason, error?: ClusterError, complete = false): Promise<LogEnd> {
    await this.closeFile();
    this.saveMeta(complete);
    const end: LogEnd = { reason, bytes: this.bytes };
    if (error) end.error = error;
    return this.finish(end);
  }

  private closeFile(): Promise<void> {
    if (this.metaTimer) clearInterval(this.metaTimer);
    const file = this.file;
    this.file = undefined;
    if (!file) return Promise.resolve();
    return new Promise((resolve) => file.end(() => resolve()));
  }

  private finish(end: LogEnd): LogEnd {
    if (this.ended) return this.ended;
    if (this.file) {
      void this.closeFile().then(() => this.saveMeta(false));
    }
    this.trimTail();
    this.ended = end;
    this.setState('ended');
    this.endEmitter.fire(end);
    this.appendEmitter.dispose();
    this.endEmitter.dispose();
    this.stateEmitter.dispose();
    return end;
  }
}

export type LogAvailability = 'record' | 'pod' | 'artifact' | 'gone';

export interface StepLogResult {
  source: LogAvailability;
  /** The log text (its last `maxBytes`), empty when gone. */
  text: string;
  truncated: boolean;
  /** The whole log is known (the container finished). */
  complete: boolean;
  /** The file the log is kept in, when there is one (open it in an editor for the whole text). */
  path?: string;
  /** What the user should know: why it is partial or gone. */
  message?: string;
}

/**
 * The log of a step's latest attempt from wherever it still is. The pod's log is read into
 * the record first, so asking again never needs the pod.
 */
export async function readStepLog(
  client: ClusterClient,
  records: RunRecordStore,
  run: RunLocation & { workflow?: Workflow },
  step: Pick<StepState, 'step' | 'podName' | 'attempts'>,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<StepLogResult> {
  const attempt = step.attempts[step.attempts.length - 1];
  if (!attempt || !step.podName) {
    return { source: 'gone', text: '', truncated: false, complete: false, message: `Step ${step.step} has not started, so it has no log yet.` };
  }
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const source: LogSource = { ...run, nodeId: attempt.nodeId, podName: step.podName, step: step.step };
  const kept = () => records.readLog(run, attempt.nodeId, maxBytes);
  const file = records.logPath(run, attempt.nodeId);

  const meta = records.readLogMeta(run, attempt.nodeId);
  if (meta?.complete) {
    const k = kept();
    return { source: 'record', text: k?.text ?? '', truncated: k?.truncated ?? false, complete: true, path: file };
  }
  const pod = await client.findPod(run.namespace, step.podName, options.signal);
  if (pod) {
    const stream = new StepLogStream(client, records, source, { follow: false, tailBytes: 1024 });
    const end = await stream.start();
    if (end.reason === 'error' && end.error) throw end.error;
    const k = kept();
    return { source: 'pod', text: k?.text ?? '', truncated: k?.truncated ?? false, complete: records.readLogMeta(run, attempt.nodeId)?.complete ?? false, path: file };
  }
  const artifact = attempt.logArtifact;
  if (artifact && run.workflow) {
    try {
      const text = await fetchArtifactText(client, run.workflow, artifact, options.signal);
      records.writeLog(run, attempt.nodeId, text, { podName: step.podName, step: step.step, complete: true, source: 'artifact' });
      const k = kept();
      return { source: 'artifact', text: k?.text ?? '', truncated: k?.truncated ?? false, complete: true, path: file };
    } catch (err) {
      const k = kept();
      const why = err instanceof Error ? err.message : String(err);
      if (k) return { source: 'record', text: k.text, truncated: k.truncated, complete: false, path: file, message: `The pod of step ${step.step} is gone and its archived log could not be read (${why}); showing what Flowbook kept while it ran.` };
      return { source: 'gone', text: '', truncated: false, complete: false, message: `The log of step ${step.step} is archived but could not be read: ${why}` };
    }
  }
  const k = kept();
  if (k) {
    // The stream ended cleanly and the step has finished: the kept log is whole.
    if (meta?.cleanEnd && ['Succeeded', 'Failed', 'Error'].includes(attempt.phase)) {
      return { source: 'record', text: k.text, truncated: k.truncated, complete: true, path: file };
    }
    return { source: 'record', text: k.text, truncated: k.truncated, complete: false, path: file, message: `The pod of step ${step.step} is gone; this is the log Flowbook kept while following it (the end may be missing).` };
  }
  return {
    source: 'gone',
    text: '',
    truncated: false,
    complete: false,
    message:
      `The log of step ${step.step} is gone: its pod ${step.podName} was deleted before Flowbook saved the log, and the workflow did not archive it. ` +
      'Next time keep the run open in Flowbook (it saves logs as they stream), or turn on Argo log archiving (`archiveLogs: true` with an artifact repository).',
  };
}

/**
 * Resuming a log after a dropped connection without repeating a line. The kubelet stamps
 * each line (`timestamps=true`); a new request asks from the last stamp seen, and the
 * lines at that stamp that were already taken are skipped once.
 */
export class SeenLines {
  /** The last timestamp taken (normalised), if any. */
  last?: string;
  /** How many lines carried `last`. */
  atLast = 0;
  private skip = 0;

  /** `sinceTime` for the next request (whole seconds, as the API takes it). */
  sinceTime(): string | undefined {
    return this.last?.replace(/\.\d+Z$/, 'Z');
  }

  /** Call when a new response starts. */
  resume(): void {
    this.skip = this.last ? this.atLast : 0;
  }

  /** The line's text without its stamp, or undefined when it was taken before. */
  take(line: string): string | undefined {
    const space = line.indexOf(' ');
    const stamped = space > 0 && /^\d{4}-\d{2}-\d{2}T/.test(line);
    const ts = stamped ? normalizeTimestamp(line.slice(0, space)) : undefined;
    if (ts && this.last) {
      if (ts < this.last) return undefined;
      if (ts === this.last && this.skip > 0) {
        this.skip--;
        return undefined;
      }
    }
    if (ts) {
      if (ts === this.last) this.atLast++;
      else {
        this.last = ts;
        this.atLast = 1;
        this.skip = 0;
      }
    }
    return stamped ? line.slice(space + 1) : line;
  }
}
