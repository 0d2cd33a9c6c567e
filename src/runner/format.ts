// Words and numbers for people: durations, one line per step, the end-of-run summary, and
// the one-object JSON summary of `flowbook run --json`. Shared by the CLI and the editor.

import type { RunRecord, StepRecord, StepStatus } from './record';

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${rest}s` : `${m}m ${rest}s`;
}

export const STATUS_SYMBOL: Record<StepStatus, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '-',
  cached: '↺',
  cancelled: '■',
};

/** `✓ train      succeeded   2.1s`, padded to `width` for the name. `elapsedMs` is for running steps. */
export function stepLine(step: StepRecord, width: number, symbol = STATUS_SYMBOL[step.status], elapsedMs?: number): string {
  let time = '';
  if (step.status === 'running' && elapsedMs !== undefined) time = formatDuration(elapsedMs);
  else if (step.durationMs !== undefined && step.status !== 'cached') time = formatDuration(step.durationMs);
  let note = '';
  if (step.status === 'cached' && step.cachedFrom) note = `from ${step.cachedFrom}`;
  else if (step.status === 'skipped' && step.reason) note = step.reason;
  return `  ${symbol} ${step.name.padEnd(width)}  ${step.status.padEnd(9)}  ${time.padStart(7)}${note ? `  ${note}` : ''}`.trimEnd();
}

/** Metric values as people read them: integers as they are, others to 6 significant digits. */
export function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/** The lines printed when a run ends (after the step lines): errors, metrics, verdict. */
export function summaryLines(run: RunRecord, runDirForPeople: string): string[] {
  const lines: string[] = [];
  if (run.error) lines.push(`error: ${run.error}`);
  for (const s of run.steps) {
    if (s.status === 'failed' && s.error) {
      lines.push(s.error.message);
      lines.push(`  log: ${runDirForPeople}/${s.stderr}`);
    }
  }
  const names = Object.keys(run.metrics);
  if (names.length > 0) {
    const width = Math.max(...names.map((n) => n.length));
    lines.push('metrics:');
    for (const n of names) lines.push(`  ${n.padEnd(width)}  ${formatMetric(run.metrics[n] ?? NaN)}`);
  }
  const took = run.durationMs === undefined ? '' : ` in ${formatDuration(run.durationMs)}`;
  lines.push(`run ${run.id} ${run.status}${took} (${runDirForPeople})`);
  return lines;
}

export interface RunSummaryJson {
  run: string;
  status: RunRecord['status'];
  steps: { name: string; status: StepStatus; durationMs: number }[];
  metrics: Record<string, number>;
}

/** What `flowbook run --json` prints: exactly this object. */
export function runSummaryJson(run: RunRecord): RunSummaryJson {
  return {
    run: run.id,
    status: run.status,
    steps: run.steps.map((s) => ({ name: s.name, status: s.status, durationMs: s.durationMs ?? 0 })),
    metrics: run.metrics,
  };
}
