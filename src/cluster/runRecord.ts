// The local record of cluster runs, so what a run showed outlives its pods and even the
// Workflow object: `<root>/<context>/<namespace>/<run>/run.json` (the last Workflow seen)
// and `logs/<node id>.log` (the step's log text) with `logs/<node id>.json` (how far it
// got). Local runs live in `.flowbook/runs`; cluster runs next to them in
// `.flowbook/cluster`. Writes of JSON files are atomic (temp file + rename); log files are
// appended only. Nothing here ever holds credentials.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Workflow } from './types';
import { writeFileAtomic as writeAtomic } from '../common/atomicFile';

export interface LogMeta {
  step?: string;
  podName: string;
  /** Bytes of log text in the .log file. */
  bytes: number;
  /** The container finished and the whole log is in the file. */
  complete: boolean;
  /**
   * The last connection ended cleanly (the kubelet closes a follow stream when the container
   * exits): once the step is known to have finished, the kept log is whole.
   */
  cleanEnd?: boolean;
  /** Where the text came from last: streamed from the pod, or read from the archived artifact. */
  source: 'pod' | 'artifact';
  /** Timestamp of the last line kept, to resume without duplicates. */
  lastTimestamp?: string;
  /** How many lines kept so far carry `lastTimestamp`. */
  linesAtLastTimestamp?: number;
  updatedAt: string;
}

export interface RunLocation {
  context: string;
  namespace: string;
  run: string;
}

/** The default records folder: `.flowbook/cluster` next to the notebook, else in the current folder. */
export function defaultClusterRecordsDir(notebookPath?: string): string {
  const base = notebookPath ? path.dirname(path.resolve(notebookPath)) : process.cwd();
  return path.join(base, '.flowbook', 'cluster');
}

function safeSegment(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return s === '' ? '_' : s.slice(0, 120);
}

/** Records are written whole (never half) into folders created on demand. */
function writeFileAtomic(file: string, content: string): void {
  writeAtomic(file, content, { mkdir: true });
}

export class RunRecordStore {
  constructor(readonly root: string) {}

  runDir(at: RunLocation): string {
    return path.join(this.root, safeSegment(at.context), safeSegment(at.namespace), safeSegment(at.run));
  }

  logPath(at: RunLocation, nodeId: string): string {
    return path.join(this.runDir(at), 'logs', `${safeSegment(nodeId)}.log`);
  }

  private metaPath(at: RunLocation, nodeId: string): string {
    return path.join(this.runDir(at), 'logs', `${safeSegment(nodeId)}.json`);
  }

  readLogMeta(at: RunLocation, nodeId: string): LogMeta | undefined {
    try {
      const meta = JSON.parse(fs.readFileSync(this.metaPath(at, nodeId), 'utf8')) as LogMeta;
      // The .log file is the truth for its size (a crash may leave the meta behind it).
      const size = fs.statSync(this.logPath(at, nodeId)).size;
      return { ...meta, bytes: size };
    } catch {
      return undefined;
    }
  }

  writeLogMeta(at: RunLocation, nodeId: string, meta: LogMeta): void {
    writeFileAtomic(this.metaPath(at, nodeId), `${JSON.stringify(meta, null, 2)}\n`);
  }

  /** The last `maxBytes` of a kept log (all of it when smaller), or undefined when nothing was kept. */
  readLog(at: RunLocation, nodeId: string, maxBytes = Infinity): { text: string; truncated: boolean } | undefined {
    const file = this.logPath(at, nodeId);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return undefined;
    }
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      let text = buffer.toString('utf8');
      // Cut at a line start so the first line is whole.
      if (length < size) text = text.slice(text.indexOf('\n') + 1);
      return { text, truncated: length < size };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Replaces a kept log with `text` (an archived log read whole). */
  writeLog(at: RunLocation, nodeId: string, text: string, meta: Omit<LogMeta, 'bytes' | 'updatedAt'>): void {
    writeFileAtomic(this.logPath(at, nodeId), text);
    this.writeLogMeta(at, nodeId, { ...meta, bytes: Buffer.byteLength(text), updatedAt: new Date().toISOString() });
  }

  /** Keeps the last Workflow seen, so the graph and the step list can be shown after it is deleted. */
  saveRun(at: RunLocation, workflow: Workflow): void {
    writeFileAtomic(path.join(this.runDir(at), 'run.json'), `${JSON.stringify(workflow, null, 2)}\n`);
  }

  readRun(at: RunLocation): Workflow | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.runDir(at), 'run.json'), 'utf8')) as Workflow;
    } catch {
      return undefined;
    }
  }

  /** Runs kept for one context and namespace (folder names). */
  listRuns(context: string, namespace: string): string[] {
    try {
      return fs.readdirSync(path.join(this.root, safeSegment(context), safeSegment(namespace))).sort();
    } catch {
      return [];
    }
  }
}
