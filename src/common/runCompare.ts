// Runs side by side: one row per parameter and per metric, one column per run, with the
// rows whose values differ marked. Plain data in, plain data out (no Node, no DOM, no
// `vscode`), so the CLI, the extension and the comparison page all use the same table.

/** A run as the comparison needs it, whatever its source (local, cluster, KFP). */
export interface ComparedRun {
  /** The run id (local) or workflow name (cluster). */
  id: string;
  /** A short column heading: usually the id, or `notebook · id`. */
  label: string;
  /** Parameter name → the value the run used (any JSON value). */
  parameters: Record<string, unknown>;
  /** Metric name → value. */
  metrics: Record<string, number>;
}

export interface CompareRow {
  kind: 'parameter' | 'metric';
  name: string;
  /** One cell per run, in the order of `RunComparison.runs`; undefined when the run lacks it. */
  values: (string | undefined)[];
  /** For metrics: the numbers behind `values`, for charts. */
  numbers?: (number | undefined)[];
  /** True when not every run has the same value (a run without the value counts as different). */
  differs: boolean;
}

export interface RunComparison {
  runs: { id: string; label: string }[];
  /** Parameters first, then metrics, each sorted by name. */
  rows: CompareRow[];
}

/** Builds the side-by-side table of two or more runs. */
export function compareRuns(runs: readonly ComparedRun[]): RunComparison {
  const rows: CompareRow[] = [];
  const parameterNames = [...new Set(runs.flatMap((r) => Object.keys(r.parameters)))].sort();
  for (const name of parameterNames) {
    const values = runs.map((r) => (Object.hasOwn(r.parameters, name) ? parameterText(r.parameters[name]) : undefined));
    rows.push({ kind: 'parameter', name, values, differs: !allSame(values) });
  }
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  for (const name of metricNames) {
    const numbers = runs.map((r) => r.metrics[name]);
    const values = numbers.map((n) => (n === undefined ? undefined : metricText(n)));
    rows.push({ kind: 'metric', name, values, numbers, differs: !allSame(numbers.map((n) => (n === undefined ? undefined : String(n)))) });
  }
  return { runs: runs.map((r) => ({ id: r.id, label: r.label })), rows };
}

function allSame(values: (string | undefined)[]): boolean {
  return values.every((v) => v !== undefined && v === values[0]);
}

/** A parameter value as people read it: strings bare, everything else as JSON. */
export function parameterText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

/** A metric value: up to 4 significant decimals, integers as they are. */
export function metricText(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6 ? String(Number(value.toPrecision(4))) : value.toExponential(3);
}

/**
 * The names of the parameters whose values differ between a run and the run before it
 * (same notebook), in name order. A parameter only one of them has counts as changed.
 */
export function changedParameters(run: Record<string, unknown>, previous: Record<string, unknown> | undefined): string[] {
  if (!previous) return [];
  const names = [...new Set([...Object.keys(run), ...Object.keys(previous)])].sort();
  return names.filter((n) => !Object.hasOwn(run, n) || !Object.hasOwn(previous, n) || JSON.stringify(run[n]) !== JSON.stringify(previous[n]));
}

/**
 * The comparison as rows of text for a terminal table: a header, then one row per parameter
 * and metric, `*` first in the rows whose values differ, `-` for a value a run does not have.
 */
export function comparisonRows(comparison: RunComparison): string[][] {
  const header = ['', 'NAME', ...comparison.runs.map((r) => r.label)];
  const body = comparison.rows.map((row) => [row.differs ? '*' : '', `${row.kind === 'parameter' ? 'param' : 'metric'} ${row.name}`, ...row.values.map((v) => v ?? '-')]);
  return [header, ...body];
}
