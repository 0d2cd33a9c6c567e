// The messages between the run results panels' host (src/views/resultsPanel.ts) and their
// page (src/webview/results/main.ts): one run's details, or runs compared side by side.
// Plain data only (no `vscode`, no DOM). The page speaks first (`ready`); the host sends
// nothing before that. Both sides switch exhaustively over these unions.

import type { RunComparison } from '../../common/runCompare';

/** A run as `<source>:<id>`, the way the page names runs back to the host. */
export interface RunKey {
  source: string;
  id: string;
}

/** One value a step passed on, summarised (nothing is loaded to show it). */
export interface ValueView {
  name: string;
  /** `DataFrame 569×31 (mean radius, …) · 48 kB`. */
  line: string;
  /** The first rows of a table, as text. */
  head?: string;
}

export interface StepDetailsView {
  name: string;
  status: string;
  /** `4.3 s`; absent while pending. */
  time?: string;
  /** Cells, 1-based, for people: `3, 4`. */
  cells: string;
  /** The error, or why it was skipped or reused. */
  note?: string;
  /** For a cached step: the run that produced its outputs and logs. */
  cachedFrom?: string;
  hasLogs: boolean;
  values: ValueView[];
  metrics: { name: string; value: string }[];
}

export interface RunDetailsView {
  run: RunKey;
  title: string;
  /** `succeeded · 3/3 steps · 7.3 s · started 09:15`. */
  subtitle: string;
  status: string;
  error?: string;
  parameters: { name: string; value: string; changed: boolean }[];
  metrics: { name: string; value: string }[];
  steps: StepDetailsView[];
  /** Shown when the source keeps no value summaries (cluster runs). */
  valuesNote?: string;
  /** Why the run's metrics could not be read (KFP: no ML Metadata route, not allowed). */
  metricsNote?: string;
}

/** Host → page. */
export type ResultsHostMessage =
  /** Show one run's details. */
  | { type: 'details'; details: RunDetailsView }
  /** Show runs side by side; `runs` carries each column's status for its heading. */
  | { type: 'compare'; comparison: RunComparison; runs: (RunKey & { status: string; started: string })[] }
  /** Nothing to show, and why. */
  | { type: 'empty'; message: string };

/** Page → host. */
export type ResultsPageMessage =
  /** The page has loaded and listens. */
  | { type: 'ready' }
  /** Open the logs of a step of a run (a cached step's: the producing run's). */
  | { type: 'openLogs'; run: RunKey; step: string }
  /** Open another run's details (a cached step's producer, a compared column). */
  | { type: 'openRun'; run: RunKey }
  /** Open the run's graph. */
  | { type: 'openGraph'; run: RunKey }
  /** Reveal the cells of a step in the notebook. */
  | { type: 'revealStep'; run: RunKey; step: string }
  /** The page drew what it was sent (charts included): `charts` is how many charts. */
  | { type: 'rendered'; kind: 'details' | 'compare'; charts: number }
  | { type: 'error'; message: string };

/** What the page keeps with `setState`, to be restored after a reload. */
export interface ResultsState {
  kind: 'details' | 'compare';
  runs: RunKey[];
}

export const RUN_DETAILS_VIEW_TYPE = 'flowbook.runDetails';
export const COMPARE_RUNS_VIEW_TYPE = 'flowbook.compareRuns';
