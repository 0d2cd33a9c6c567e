// The graph page's layout: every edge points down the page, boxes never overlap, and large
// pipelines lay out completely.
import * as assert from 'node:assert/strict';
import { layoutGraph, nodeWidth, NODE_HEIGHT, type Layout } from '../../../src/webview/layout';
import type { GraphModel } from '../../../src/webview/protocol';

function chain(n: number): GraphModel {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, label: `s${i}`, status: 'idle' as const, cells: [i], hasLogs: false }));
  const edges = nodes.slice(1).map((node, i) => ({ from: `s${i}`, to: node.id, kind: 'data' as const }));
  for (let i = 10; i < n; i += 10) edges.push({ from: `s${i - 10}`, to: `s${i}`, kind: 'data' });
  return { title: 't', subtitle: '', nodes, edges };
}

function overlaps(l: Layout): string[] {
  const found: string[] = [];
  for (const [i, a] of l.nodes.entries()) {
    for (const b of l.nodes.slice(i + 1)) {
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) found.push(`${a.id}/${b.id}`);
    }
  }
  return found;
}

describe('graph layout', () => {
  it('places upstream steps above downstream ones, without overlaps', () => {
    const graph: GraphModel = {
      title: 't', subtitle: '',
      nodes: ['load', 'clean', 'features', 'train', 'evaluate'].map((id) => ({ id, label: id, status: 'idle', cells: [], hasLogs: false })),
      edges: [
        { from: 'load', to: 'clean', kind: 'data' }, { from: 'load', to: 'features', kind: 'data' },
        { from: 'clean', to: 'train', kind: 'data' }, { from: 'features', to: 'train', kind: 'data' },
        { from: 'train', to: 'evaluate', kind: 'order' },
      ],
    };
    const l = layoutGraph(graph);
    const box = (id: string) => l.nodes.find((n) => n.id === id)!;
    for (const e of graph.edges) assert.ok(box(e.from).y + box(e.from).height <= box(e.to).y, `${e.from} is above ${e.to}`);
    assert.deepEqual(overlaps(l), []);
    assert.equal(l.edges.length, 5);
    for (const e of l.edges) assert.ok(e.points.length >= 2, 'each edge has a path');
    assert.ok(l.width >= Math.max(...l.nodes.map((n) => n.x + n.width)));
  });

  it('lays out a 300-step pipeline completely', () => {
    const l = layoutGraph(chain(300));
    assert.equal(l.nodes.length, 300);
    assert.equal(l.edges.length, 299 + 29);
    assert.deepEqual(overlaps(l), []);
    assert.ok(l.nodes.every((n) => n.height === NODE_HEIGHT && Number.isFinite(n.x) && Number.isFinite(n.y)));
  });

  it('ignores edges to unknown steps and self-edges instead of inventing nodes', () => {
    const l = layoutGraph({ title: 't', subtitle: '', nodes: [{ id: 'a', label: 'a', status: 'idle', cells: [], hasLogs: false }], edges: [{ from: 'a', to: 'ghost', kind: 'data' }, { from: 'a', to: 'a', kind: 'prev' }] });
    assert.deepEqual(l.nodes.map((n) => n.id), ['a']);
    assert.deepEqual(l.edges, []);
  });

  it('sizes boxes to their text within bounds', () => {
    assert.equal(nodeWidth('a'), 120);
    assert.ok(nodeWidth('a_rather_long_step_name') > 120);
    assert.equal(nodeWidth('x'.repeat(200)), 280);
  });
});
