// How a verify report reads: plain lines for the terminal, Markdown for the editor. Both
// lead with the verdict and the first divergence (the one to fix first), then the rest.

import { cellLabel, formatDiagnostic } from '../converter';
import type { Divergence, VerifyReport } from './index';

const KIND_TITLE: Record<Divergence['kind'], string> = {
  received: 'receives a different value',
  'passed-on': 'passes on a different value',
  metric: 'metric differs',
  'step-failed': 'step failed',
  'cannot-pass': 'value cannot be passed',
};

function where(d: Divergence): string {
  if (d.cell === undefined) return '';
  return `${cellLabel(d.cell)}${d.line !== undefined ? `, line ${d.line}` : ''}`;
}

/** Lines for the terminal: the verdict, then one block per divergence. */
export function reportLines(report: VerifyReport): string[] {
  const lines = [`${report.outcome === 'identical' ? '✓' : '✗'} ${report.summary}`];
  for (const d of report.diagnostics) lines.push(`  ${formatDiagnostic(report.notebook, d)}`);
  report.divergences.forEach((d, i) => {
    const at = where(d);
    lines.push(`${i === 0 ? 'first divergence' : 'then'}: step ${d.step}${d.variable ? `, ${d.variable}` : ''}${at ? ` (${at})` : ''}: ${KIND_TITLE[d.kind]}`);
    if (d.path && d.path !== d.variable) lines.push(`    at        ${d.path}`);
    if (d.expected !== undefined) lines.push(`    notebook  ${d.expected}`);
    if (d.got !== undefined) lines.push(`    pipeline  ${d.got}`);
    if (i === 0) lines.push(`    ${d.message}`);
  });
  if (report.runDir) lines.push(`run ${report.runId ?? ''}: ${report.runDir}`);
  return lines;
}

function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${text.replace(/\n/g, ' ')}${fence}`;
}

/** A Markdown document for the editor (shown read-only beside the notebook). */
export function reportMarkdown(report: VerifyReport): string {
  const out = [`# Verify: ${report.notebook.split(/[\\/]/).pop() ?? report.notebook}`, '', `**${report.outcome === 'identical' ? 'Identical' : report.outcome === 'different' ? 'Different' : report.outcome === 'diagnostic' ? 'Does not compile' : 'Cannot verify'}**: ${report.summary}`, ''];
  if (report.steps > 0) out.push(`${report.steps} step${report.steps === 1 ? '' : 's'}; ${report.compared} value${report.compared === 1 ? '' : 's'} compared, ${report.same} the same.`, '');
  for (const d of report.diagnostics) out.push(`- ${d.cell !== undefined ? `${cellLabel(d.cell)}: ` : ''}${d.code} ${d.message}`);
  if (report.divergences.length > 0) {
    out.push('| | step | variable | cell | notebook | pipeline |', '|---|---|---|---|---|---|');
    report.divergences.forEach((d, i) => {
      out.push(`| ${i === 0 ? '**first**' : ''} | ${d.step} | ${d.path ? code(d.path) : d.variable ? code(d.variable) : ''} | ${where(d)} | ${d.expected !== undefined ? code(d.expected) : ''} | ${d.got !== undefined ? code(d.got) : ''} |`);
    });
    out.push('');
    for (const d of report.divergences) out.push(`- ${d.message.replace(/\|/g, '\\|')}`);
    out.push('');
  }
  if (report.runDir) out.push(`The pipeline's run: \`${report.runDir}\``);
  out.push('', 'The notebook ran straight through in one interpreter; the pipeline ran step by step with the local runner, with the same Python. Values are compared at every step boundary: what each step receives and passes on, and the metrics.');
  return out.join('\n') + '\n';
}
