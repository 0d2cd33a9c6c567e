// Lays out a pipeline graph with dagre's layered (Sugiyama) layout, top to bottom as the
// notebook reads. DOM-free, so it runs in the page and in unit tests alike. Node sizes are
// estimated from the label length; the page draws exactly these boxes. (dagre rather than
// elkjs: several times faster on a first layout, which is what a user waits for.)

import { graphlib, layout } from '@dagrejs/dagre';
import type { GraphModel } from './protocol';

export interface Point {
  x: number;
  y: number;
}

export interface NodeBox {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface EdgePath {
  from: string;
  to: string;
  points: Point[];
}

export interface Layout {
  width: number;
  height: number;
  nodes: NodeBox[];
  edges: EdgePath[];
}

export const NODE_HEIGHT = 46;
const CHAR_WIDTH = 7.4;
const MARGIN = 16;

/** The width a node needs for its label and detail line. */
export function nodeWidth(label: string, detail = ''): number {
  const chars = Math.max(label.length + 3, detail.length);
  return Math.round(Math.min(280, Math.max(120, chars * CHAR_WIDTH + 28)));
}

export function layoutGraph(graph: GraphModel): Layout {
  const g = new graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: 20, ranksep: 36, edgesep: 10, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: nodeWidth(n.label, n.detail), height: NODE_HEIGHT });
  // Edges to unknown nodes would make dagre invent nodes; a run record and a pipeline always agree, but be safe.
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to);
  for (const e of edges) g.setEdge(e.from, e.to);
  layout(g);
  const nodes: NodeBox[] = graph.nodes.map((n) => {
    const box = g.node(n.id) as { x: number; y: number; width: number; height: number };
    return { id: n.id, x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height };
  });
  const paths: EdgePath[] = edges.map((e) => {
    const label = g.edge(e.from, e.to) as { points?: Point[] } | undefined;
    return { from: e.from, to: e.to, points: label?.points ?? [] };
  });
  const size = g.graph() as { width?: number; height?: number };
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges: paths };
}
