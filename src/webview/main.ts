// The pipeline graph page: receives a graph from the host, lays it out with dagre, and draws
// it as SVG built with DOM calls (data never becomes markup). During a run only colours
// change, without a new layout. Keeps `{ notebook, run }` with setState so the panel
// serializer can restore it after a reload. Colours come from the theme's CSS variables.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { layoutGraph, type Layout } from './layout';
import type { GraphModel, GraphNode, HostMessage, NodeStatus, PageMessage, PanelState } from './protocol';

interface VsCodeApi {
  postMessage(message: PageMessage): void;
  setState(state: PanelState): void;
  getState(): PanelState | undefined;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const SVG = 'http://www.w3.org/2000/svg';

const STATUS_GLYPH: Record<NodeStatus, string> = {
  idle: '◇', pending: '○', running: '◐', succeeded: '✓', failed: '✗', skipped: '–', cached: '✓', cancelled: '⊘',
};
const STATUS_WORD: Record<NodeStatus, string> = {
  idle: 'step', pending: 'pending', running: 'running', succeeded: 'succeeded', failed: 'failed', skipped: 'skipped', cached: 'cached', cancelled: 'cancelled',
};

const titleEl = byId('title');
const subtitleEl = byId('subtitle');
const messageEl = byId('message');
const canvas = byId('canvas');
const svg = document.createElementNS(SVG, 'svg');
svg.setAttribute('role', 'img');
canvas.appendChild(svg);
const viewport = document.createElementNS(SVG, 'g');
svg.appendChild(viewport);

let graph: GraphModel | undefined;
let layout: Layout | undefined;
const nodeEls = new Map<string, SVGGElement>();
let view = { x: 0, y: 0, scale: 1 };

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el;
}

function post(message: PageMessage): void {
  vscode.postMessage(message);
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'graph':
      vscode.setState(message.state);
      void showGraph(message.requestId, message.graph);
      break;
    case 'status':
      applyStatus(message);
      break;
    case 'empty':
      showEmpty(message.message);
      break;
  }
});

window.addEventListener('error', (e) => post({ type: 'error', message: String(e.message) }));

async function showGraph(requestId: number, next: GraphModel): Promise<void> {
  const started = performance.now();
  try {
    const sameShape = graph !== undefined && layout !== undefined && shapeKey(graph) === shapeKey(next);
    graph = next;
    titleEl.textContent = next.title;
    subtitleEl.textContent = next.subtitle;
    messageEl.hidden = true;
    canvas.hidden = false;
    if (!sameShape) {
      layout = layoutGraph(next);
      draw(next, layout);
      fit();
    } else {
      for (const n of next.nodes) updateNode(n);
    }
    requestAnimationFrame(() => post({ type: 'rendered', requestId, nodes: next.nodes.length, ms: Math.round(performance.now() - started) }));
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}

/** Nodes and edges only: a graph with the same shape keeps its layout (and the user's zoom). */
function shapeKey(g: GraphModel): string {
  return JSON.stringify([g.nodes.map((n) => [n.id, n.label, n.detail ?? '']), g.edges.map((e) => [e.from, e.to])]);
}

function showEmpty(text: string): void {
  graph = undefined;
  layout = undefined;
  titleEl.textContent = 'Pipeline graph';
  subtitleEl.textContent = '';
  messageEl.textContent = text;
  messageEl.hidden = false;
  canvas.hidden = true;
}

function draw(g: GraphModel, l: Layout): void {
  viewport.replaceChildren();
  nodeEls.clear();
  const defs = document.createElementNS(SVG, 'defs');
  const marker = document.createElementNS(SVG, 'marker');
  marker.setAttribute('id', 'arrow');
  marker.setAttribute('viewBox', '0 0 10 10');
  marker.setAttribute('refX', '9');
  marker.setAttribute('refY', '5');
  marker.setAttribute('markerWidth', '7');
  marker.setAttribute('markerHeight', '7');
  marker.setAttribute('orient', 'auto-start-reverse');
  const tip = document.createElementNS(SVG, 'path');
  tip.setAttribute('d', 'M 0 0 L 10 5 L 0 10 z');
  tip.setAttribute('class', 'arrow');
  marker.appendChild(tip);
  defs.appendChild(marker);
  viewport.appendChild(defs);

  const edgeLayer = document.createElementNS(SVG, 'g');
  l.edges.forEach((e, i) => {
    const model = g.edges.filter((m) => m.from === e.from && m.to === e.to)[0] ?? g.edges[i];
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', e.points.map((p, j) => `${j === 0 ? 'M' : 'L'} ${p.x} ${p.y}`).join(' '));
    path.setAttribute('class', `edge edge-${model?.kind ?? 'data'}`);
    path.setAttribute('marker-end', 'url(#arrow)');
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${e.from} → ${e.to}${model?.label ? `: ${model.label}` : ''}`;
    path.appendChild(title);
    edgeLayer.appendChild(path);
  });
  viewport.appendChild(edgeLayer);

  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const box of l.nodes) {
    const node = byId.get(box.id);
    if (!node) continue;
    const el = document.createElementNS(SVG, 'g');
    el.setAttribute('transform', `translate(${box.x} ${box.y})`);
    el.setAttribute('tabindex', '0');
    el.setAttribute('role', 'button');
    el.dataset['id'] = node.id;
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('width', String(box.width));
    rect.setAttribute('height', String(box.height));
    rect.setAttribute('rx', '6');
    const glyph = document.createElementNS(SVG, 'text');
    glyph.setAttribute('x', '12');
    glyph.setAttribute('y', '20');
    glyph.setAttribute('class', 'glyph');
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', '30');
    label.setAttribute('y', '20');
    label.setAttribute('class', 'label');
    label.textContent = node.label;
    const detail = document.createElementNS(SVG, 'text');
    detail.setAttribute('x', '12');
    detail.setAttribute('y', '37');
    detail.setAttribute('class', 'detail');
    const title = document.createElementNS(SVG, 'title');
    // The step's colour, as on its cells' left border in the notebook.
    const stripe = document.createElementNS(SVG, 'rect');
    stripe.setAttribute('width', '5');
    stripe.setAttribute('height', String(box.height - 8));
    stripe.setAttribute('x', '2');
    stripe.setAttribute('y', '4');
    stripe.setAttribute('rx', '2');
    stripe.setAttribute('class', 'stripe');
    el.append(rect, glyph, label, detail, title, stripe);
    el.addEventListener('click', (ev) => activate(node.id, ev.altKey || ev.shiftKey));
    el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        activate(node.id, ev.altKey || ev.shiftKey);
      }
    });
    nodeEls.set(node.id, el);
    viewport.appendChild(el);
    updateNode(node);
  }
}

function updateNode(node: Pick<GraphNode, 'id' | 'status' | 'detail' | 'tooltip' | 'hasLogs'>): void {
  const el = nodeEls.get(node.id);
  if (!el) return;
  const model = graph?.nodes.find((n) => n.id === node.id);
  const colour = model?.colour === undefined ? '' : ` step-colour-${model.colour}`;
  const errors = model?.errors ? ' has-errors' : '';
  el.setAttribute('class', `node status-${node.status}${node.hasLogs ? ' has-logs' : ''}${colour}${errors}`);
  el.dataset['status'] = node.status;
  const [, glyph, , detail, title] = Array.from(el.children);
  if (glyph) glyph.textContent = STATUS_GLYPH[node.status];
  if (detail) detail.textContent = node.detail ?? STATUS_WORD[node.status];
  if (title) title.textContent = node.tooltip ?? node.id;
  el.setAttribute('aria-label', `${node.id}: ${STATUS_WORD[node.status]}${node.detail ? `, ${node.detail}` : ''}`);
  if (model) Object.assign(model, node);
}

function applyStatus(message: Extract<HostMessage, { type: 'status' }>): void {
  subtitleEl.textContent = message.subtitle;
  for (const n of message.nodes) updateNode(n);
}

function activate(id: string, reveal: boolean): void {
  const node = graph?.nodes.find((n) => n.id === id);
  if (!node) return;
  post({ type: 'openNode', id, action: !reveal && graph?.runId !== undefined && node.hasLogs ? 'logs' : 'reveal' });
}

// Pan with the mouse, zoom with Ctrl/⌘ + wheel, fit and zoom with the toolbar.
function applyView(): void {
  viewport.setAttribute('transform', `translate(${view.x} ${view.y}) scale(${view.scale})`);
}

function fit(): void {
  if (!layout) return;
  const w = canvas.clientWidth || 800;
  const h = canvas.clientHeight || 600;
  const scale = Math.min(1.25, w / Math.max(1, layout.width), h / Math.max(1, layout.height));
  const s = Math.max(0.1, scale);
  view = { scale: s, x: (w - layout.width * s) / 2, y: Math.max(0, (h - layout.height * s) / 2) };
  applyView();
}

function zoom(factor: number, cx = canvas.clientWidth / 2, cy = canvas.clientHeight / 2): void {
  const s = Math.min(4, Math.max(0.1, view.scale * factor));
  view = { scale: s, x: cx - ((cx - view.x) * s) / view.scale, y: cy - ((cy - view.y) * s) / view.scale };
  applyView();
}

let drag: { x: number; y: number; vx: number; vy: number } | undefined;
svg.addEventListener('pointerdown', (e) => {
  if ((e.target as Element).closest('.node')) return;
  drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
  svg.setPointerCapture(e.pointerId);
});
svg.addEventListener('pointermove', (e) => {
  if (!drag) return;
  view = { ...view, x: drag.vx + e.clientX - drag.x, y: drag.vy + e.clientY - drag.y };
  applyView();
});
svg.addEventListener('pointerup', () => { drag = undefined; });
svg.addEventListener('wheel', (e) => {
  if (!e.ctrlKey && !e.metaKey) {
    view = { ...view, x: view.x - e.deltaX, y: view.y - e.deltaY };
    applyView();
  } else {
    const rect = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.1 : 1 / 1.1, e.clientX - rect.left, e.clientY - rect.top);
  }
  e.preventDefault();
}, { passive: false });
byId('fit').addEventListener('click', fit);
byId('zoomIn').addEventListener('click', () => zoom(1.2));
byId('zoomOut').addEventListener('click', () => zoom(1 / 1.2));
window.addEventListener('resize', () => { if (layout) fit(); });

post({ type: 'ready' });
