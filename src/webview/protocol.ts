// The messages between the graph panel's host (src/views/graphPanel.ts) and its page
// (src/webview/main.ts). Plain data only: this file imports neither `vscode` nor the DOM, so
// both sides compile against it. The page speaks first (`ready`); the host sends nothing
// before that. Both sides switch exhaustively over these unions.

/** A step's state as the graph colours it. `idle`: the static pipeline, before any run. */
export type NodeStatus = 'idle' | 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cached' | 'cancelled';

export interface GraphNode {
  /** The step name; unique within a graph. */
  id: string;
  label: string;
  status: NodeStatus;
  /** Notebook cells (0-based) of the step, for "reveal". */
  cells: number[];
  /** One line under the label: `3 cells`, `12.3 s`, `cached`. */
  detail?: string;
  /** Longer text for the tooltip: inputs, outputs, the error of a failed step. */
  tooltip?: string;
  /** True when the step has logs to open (it ran, or is running). */
  hasLogs: boolean;
  /** The step's colour, 0-5 (the theme's chart colours), the same as its cells' border. */
  colour?: number;
  /** Errors in the step's cells (the static pipeline): the node is marked. */
  errors?: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** Why the edge exists, e.g. `df, X` or `prev: tag in cell 5`. */
  label?: string;
  kind: 'data' | 'prev' | 'order';
}

export interface GraphModel {
  /** Heading: the pipeline name. */
  title: string;
  /** Second line: `static pipeline` or `run 20261122-161700-ab12 · running · 2/5`. */
  subtitle: string;
  /** Set when the graph shows a run. */
  runId?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Host → page. */
export type HostMessage =
  /** A whole graph: lay it out and draw it. `requestId` comes back in `rendered`; `state` is what the page keeps. */
  | { type: 'graph'; requestId: number; graph: GraphModel; state: PanelState }
  /** Status changes during a run: recolour nodes without a new layout. */
  | { type: 'status'; subtitle: string; nodes: { id: string; status: NodeStatus; detail?: string; tooltip?: string; hasLogs: boolean }[] }
  /** Nothing to draw, and why (no notebook open, the notebook has errors ...). */
  | { type: 'empty'; message: string };

/** Page → host. */
export type PageMessage =
  /** The page has loaded and listens; the host may send now. */
  | { type: 'ready' }
  /** A node was activated: reveal its cells, or open its logs. */
  | { type: 'openNode'; id: string; action: 'reveal' | 'logs' }
  /** A `graph` message was laid out and drawn, in `ms` milliseconds. */
  | { type: 'rendered'; requestId: number; nodes: number; ms: number }
  /** Something failed in the page. */
  | { type: 'error'; message: string };

/** What the page keeps with `setState`, for the panel serializer to restore it after a reload. */
export interface PanelState {
  /** The notebook URI (string). */
  notebook: string;
  /** The run shown, if any: `<source>:<run id>`. */
  run?: string;
}

/** The webview panel type, shared by `createWebviewPanel` and the serializer. */
export const GRAPH_VIEW_TYPE = 'flowbook.graph';
