// Judges one notebook both ways with `flowbook verify`'s core: exact (identical values),
// diagnostic (compilation stops it with an error or warning), different (every step ran
// but a value or metric differs: silently different), or crashed (a step failed, or the
// notebook itself did not run straight through). Shared by the suites and `npm run fidelity`.

import { compileNotebookFile, Diagnostic } from '../../src/converter';
import { VerifyReport, verifyNotebook } from '../../src/verify';

export type Verdict = 'exact' | 'diagnostic' | 'different' | 'crashed';

export interface Judgement {
  verdict: Verdict;
  /** Error and warning diagnostics of the compile. */
  diagnostics: Diagnostic[];
  report?: VerifyReport;
  /** One line: why. */
  detail: string;
}

export const PYTHON = process.env.FLOWBOOK_TEST_PYTHON ?? '/usr/bin/python3';

/**
 * A compile with an error or warning stops here as `diagnostic`: the contract lets a
 * notebook end in a diagnostic instead of a run. Otherwise both sides run and compare.
 */
export async function judge(notebook: string, runsDir: string, parameterArgs: string[] = []): Promise<Judgement> {
  const compiled = await compileNotebookFile(notebook);
  const diagnostics = compiled.diagnostics.filter((d) => d.severity === 'error' || (d.severity === 'warning' && d.code !== 'FB105'));
  const blocking = diagnostics.filter((d) => d.severity === 'error' || !ADVISORY_WARNINGS.has(d.code));
  if (blocking.length > 0) {
    const d = blocking[0] as Diagnostic;
    return { verdict: 'diagnostic', diagnostics, detail: `${d.code} on cell index ${d.cell ?? '?'}: ${d.message}` };
  }
  const report = await verifyNotebook({ notebook, python: PYTHON, runsDir, parameterArgs, jobs: 2 });
  if (report.outcome === 'identical') return { verdict: 'exact', diagnostics, report, detail: report.summary };
  if (report.outcome === 'different') {
    const failed = report.divergences.some((d) => d.kind === 'step-failed');
    return { verdict: failed ? 'crashed' : 'different', diagnostics, report, detail: report.summary };
  }
  if (report.outcome === 'diagnostic') return { verdict: 'diagnostic', diagnostics: report.diagnostics, report, detail: report.summary };
  return { verdict: 'crashed', diagnostics, report, detail: report.summary };
}

/** Warnings that say nothing about fidelity (Kale compatibility notes): they do not count as a diagnostic. */
const ADVISORY_WARNINGS = new Set<string>(['FB100', 'FB105', 'FB107', 'FB108', 'FB201', 'FB301', 'FB304']);
