// The run results page: one run's details (parameters, metrics, each step with its time,
// cache origin, the values it passed on and a link to its logs), or runs compared side by
// side (differences highlighted) with a bar chart of each metric across the runs. Built with
// DOM calls only (data never becomes markup); charts are Chart.js on canvas, coloured from
// the theme's CSS variables and redrawn when the theme changes.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { CompareRow, RunComparison } from '../../common/runCompare';
import type { ResultsHostMessage, ResultsPageMessage, ResultsState, RunDetailsView, RunKey, StepDetailsView } from './protocol';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

interface VsCodeApi {
  postMessage(message: ResultsPageMessage): void;
  setState(state: ResultsState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: ResultsPageMessage) => vscode.postMessage(m);
const root = byId('root');
let charts: Chart[] = [];
let lastCompare: Extract<ResultsHostMessage, { type: 'compare' }> | undefined;

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el;
}

/** `el('td', { className: 'x' }, 'text', child)`: an element with text and children, never markup. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Pick<HTMLElement, 'className' | 'title'>> = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.title) e.title = props.title;
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

function link(text: string, title: string, onClick: () => void): HTMLAnchorElement {
  const a = el('a', { title }, text);
  a.href = '#';
  a.addEventListener('click', (e) => {
    e.preventDefault();
    onClick();
  });
  return a;
}

const GLYPH: Record<string, string> = { pending: '○', running: '◐', succeeded: '✓', failed: '✗', skipped: '–', cached: '✓', cancelled: '⊘' };

function statusBadge(status: string): HTMLElement {
  return el('span', { className: `status status-${status}` }, `${GLYPH[status] ?? '•'} ${status}`);
}

function section(title: string, ...content: Node[]): HTMLElement {
  return el('section', {}, el('h2', {}, title), ...content);
}

function showDetails(d: RunDetailsView): void {
  vscode.setState({ kind: 'details', runs: [d.run] });
  destroyCharts();
  const graph = el('vscode-button', { title: 'Open the run graph' }, 'Open Graph');
  graph.setAttribute('secondary', '');
  graph.addEventListener('click', () => post({ type: 'openGraph', run: d.run }));
  const header = el('header', {}, el('div', {}, el('h1', {}, d.title), el('div', { className: 'subtitle' }, statusBadge(d.status), ` ${d.subtitle}`)), el('div', { className: 'toolbar' }, graph));
  const parts: Node[] = [header];
  if (d.error) parts.push(el('p', { className: 'error' }, d.error));

  const params = el('table', { className: 'kv' });
  for (const p of d.parameters) {
    params.append(el('tr', { className: p.changed ? 'changed' : '' }, el('th', {}, p.name), el('td', {}, p.value), el('td', { className: 'badge' }, p.changed ? el('span', { className: 'changed-badge', title: 'different from the previous run of this notebook' }, 'changed') : undefined)));
  }
  parts.push(section('Parameters', d.parameters.length > 0 ? params : el('p', { className: 'muted' }, 'The pipeline has no parameters.')));

  const metrics = el('table', { className: 'kv' });
  for (const m of d.metrics) metrics.append(el('tr', {}, el('th', {}, m.name), el('td', { className: 'num' }, m.value)));
  const noMetrics = d.metricsNote ?? 'No metrics (tag a cell pipeline-metrics to record some).';
  parts.push(section('Metrics', d.metrics.length > 0 ? metrics : el('p', { className: 'muted' }, noMetrics)));

  const steps = el('table', { className: 'steps' }, el('thead', {}, el('tr', {}, el('th', {}, 'Step'), el('th', {}, 'Status'), el('th', {}, 'Time'), el('th', {}, 'Passed on'), el('th', {}, 'Logs'))));
  const body = el('tbody');
  for (const s of d.steps) body.append(stepRow(d.run, s));
  steps.append(body);
  parts.push(section('Steps', steps));
  if (d.valuesNote) parts.push(el('p', { className: 'muted' }, d.valuesNote));
  root.replaceChildren(...parts);
  post({ type: 'rendered', kind: 'details', charts: 0 });
}

function stepRow(run: RunKey, s: StepDetailsView): HTMLElement {
  const name = el('td', { className: 'step-name' }, link(s.name, `Reveal cells ${s.cells} in the notebook`, () => post({ type: 'revealStep', run, step: s.name })), s.cells ? el('div', { className: 'muted' }, `cells ${s.cells}`) : undefined);
  const status = el('td', {}, statusBadge(s.status));
  if (s.cachedFrom) {
    const from = s.cachedFrom;
    status.append(el('div', { className: 'muted' }, 'reused from ', link(from, `Open run ${from}`, () => post({ type: 'openRun', run: { source: run.source, id: from } }))));
  } else if (s.note) {
    status.append(el('div', { className: s.status === 'failed' ? 'error' : 'muted' }, s.note));
  }
  const values = el('td', { className: 'values' });
  for (const v of s.values) {
    const line = el('div', { className: 'value' }, el('code', {}, v.name), ` ${v.line}`);
    if (v.head) line.append(el('pre', { className: 'head' }, v.head));
    values.append(line);
  }
  for (const m of s.metrics) values.append(el('div', { className: 'value' }, el('code', {}, m.name), ` = ${m.value}`));
  const logs = el('td');
  if (s.hasLogs) {
    const target = s.cachedFrom ? `the log of run ${s.cachedFrom}, which produced these outputs` : `the log of ${s.name}`;
    logs.append(link(s.cachedFrom ? 'Log (producing run)' : 'Log', `Open ${target}`, () => post({ type: 'openLogs', run, step: s.name })));
  }
  const row = el('tr', { className: `step step-${s.status}` }, name, status, el('td', { className: 'num' }, s.time ?? ''), values, logs);
  row.dataset.step = s.name;
  return row;
}

function showCompare(message: Extract<ResultsHostMessage, { type: 'compare' }>): void {
  lastCompare = message;
  const { comparison, runs } = message;
  vscode.setState({ kind: 'compare', runs: runs.map(({ source, id }) => ({ source, id })) });
  destroyCharts();
  const differing = comparison.rows.filter((r) => r.differs).length;
  const header = el('header', {}, el('div', {}, el('h1', {}, `Compare ${runs.length} runs`), el('div', { className: 'subtitle' }, differing === 0 ? 'Same parameters and metrics.' : `${differing} of ${comparison.rows.length} rows differ (highlighted).`)));

  const table = el('table', { className: 'compare' });
  const head = el('tr', {}, el('th', {}, ''));
  runs.forEach((r, i) => head.append(el('th', { className: 'run-col' }, link(comparison.runs[i]?.label ?? r.id, `Open the details of run ${r.id}`, () => post({ type: 'openRun', run: { source: r.source, id: r.id } })), el('div', {}, statusBadge(r.status)), el('div', { className: 'muted' }, r.started))));
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const kind of ['parameter', 'metric'] as const) {
    const rows = comparison.rows.filter((r) => r.kind === kind);
    if (rows.length === 0) continue;
    const group = el('th', { className: 'group' }, kind === 'parameter' ? 'Parameters' : 'Metrics');
    group.colSpan = runs.length + 1;
    body.append(el('tr', {}, group));
    for (const row of rows) body.append(compareRow(row));
  }
  table.append(body);
  const parts: Node[] = [header, table];
  const metricRows = comparison.rows.filter((r) => r.kind === 'metric' && r.numbers?.some((n) => n !== undefined));
  if (metricRows.length > 0) {
    const grid = el('div', { className: 'charts' });
    parts.push(section('Metrics across runs', grid));
    root.replaceChildren(...parts);
    for (const row of metricRows) grid.append(metricChart(comparison, row));
  } else {
    parts.push(el('p', { className: 'muted' }, 'No metrics to chart.'));
    root.replaceChildren(...parts);
  }
  post({ type: 'rendered', kind: 'compare', charts: charts.length });
}

function compareRow(row: CompareRow): HTMLElement {
  const tr = el('tr', { className: row.differs ? 'differs' : '' }, el('th', { title: row.differs ? 'the runs differ here' : '' }, row.name));
  tr.dataset.name = row.name;
  for (const v of row.values) tr.append(el('td', { className: row.kind === 'metric' ? 'num' : '' }, v ?? '—'));
  return tr;
}

/** The theme's colour for a CSS variable, with a fallback for themes that lack it. */
function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const SERIES = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];

function metricChart(comparison: RunComparison, row: CompareRow): HTMLElement {
  const canvas = el('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${row.name} across runs: ${row.values.map((v, i) => `${comparison.runs[i]?.label ?? ''} ${v ?? 'none'}`).join(', ')}`);
  const box = el('div', { className: 'chart' }, el('h3', {}, row.name), el('div', { className: 'canvas-box' }, canvas));
  box.dataset.metric = row.name;
  const fg = themeColour('--vscode-foreground', '#888');
  const grid = themeColour('--vscode-editorWidget-border', themeColour('--vscode-panel-border', 'rgba(128,128,128,0.3)'));
  const font = { family: themeColour('--vscode-font-family', 'sans-serif'), size: 11 };
  const colours = comparison.runs.map((_, i) => themeColour(SERIES[i % SERIES.length] ?? '--vscode-charts-blue', '#3794ff'));
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  charts.push(new Chart(canvas, {
    type: 'bar',
    data: {
      labels: comparison.runs.map((r) => r.label),
      datasets: [{ label: row.name, data: (row.numbers ?? []).map((n) => n ?? null), backgroundColor: colours, borderColor: highContrast ? fg : colours, borderWidth: highContrast ? 2 : 0 }],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { enabled: true } },
      scales: {
        x: { ticks: { color: fg, font }, grid: { color: grid } },
        y: { ticks: { color: fg, font }, grid: { color: grid }, beginAtZero: false },
      },
    },
  }));
  return box;
}

function destroyCharts(): void {
  for (const c of charts) c.destroy();
  charts = [];
}

// A theme change swaps the body's classes and CSS variables: redraw the charts in the new colours.
new MutationObserver(() => {
  if (lastCompare && charts.length > 0) showCompare(lastCompare);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

window.addEventListener('message', (event: MessageEvent<ResultsHostMessage>) => {
  const message = event.data;
  try {
    switch (message.type) {
      case 'details':
        lastCompare = undefined;
        showDetails(message.details);
        break;
      case 'compare':
        showCompare(message);
        break;
      case 'empty':
        lastCompare = undefined;
        destroyCharts();
        root.replaceChildren(el('p', { className: 'muted message' }, message.message));
        break;
    }
  } catch (err) {
    post({ type: 'error', message: String(err instanceof Error ? err.stack ?? err.message : err) });
  }
});

post({ type: 'ready' });
