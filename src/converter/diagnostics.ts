// Diagnostics are collected, never thrown: every phase appends to a list and carries on,
// so one broken cell never hides the problems of the others. Thrown errors are bugs,
// except `InputError`, which means the whole input is unusable (CLI exit code 2).

export type Severity = 'error' | 'warning' | 'info';

/** Where a diagnostic points. `cell` is the 0-based index into the notebook's `cells`; `line` and `column` are 1-based within the cell source. */
export interface Location {
  cell?: number;
  line?: number;
  column?: number;
}

export interface Diagnostic extends Location {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
}

/**
 * Every diagnostic code with its default severity and a one-line summary.
 * Codes are stable: users search for them, and the README lists them.
 */
export const DIAGNOSTICS = {
  // Input and notebook structure (FB0xx)
  FB000: { severity: 'error', summary: 'The notebook file cannot be read.' },
  FB001: { severity: 'error', summary: 'The file is not valid JSON.' },
  FB002: { severity: 'error', summary: 'The notebook format is not supported (nbformat 4 is required).' },
  FB003: { severity: 'error', summary: 'The notebook has no `cells` array.' },
  FB004: { severity: 'error', summary: 'A cell is malformed.' },
  FB005: { severity: 'error', summary: 'A notebook setting has the wrong type or value.' },
  // Tags (FB1xx)
  FB100: { severity: 'info', summary: 'A tag of another tool is ignored.' },
  FB101: { severity: 'error', summary: 'A Flowbook tag is malformed.' },
  FB102: { severity: 'error', summary: 'A cell has two roles (for example `imports` and `step:`).' },
  FB103: { severity: 'error', summary: 'A step name is invalid.' },
  FB104: { severity: 'error', summary: 'Two step names map to the same template name.' },
  FB105: { severity: 'warning', summary: 'Untagged code cells before the first tag.' },
  FB106: { severity: 'info', summary: 'The notebook has no step tags; it compiles to a single step.' },
  FB107: { severity: 'warning', summary: 'An empty `step:` has no previous step to continue; the cell is treated as untagged.' },
  FB108: { severity: 'warning', summary: 'A step option is given twice with different values; the last one wins.' },
  // IPython syntax (FB2xx)
  FB200: { severity: 'info', summary: 'An IPython magic was dropped or turned into plain Python.' },
  FB201: { severity: 'warning', summary: 'An IPython magic is not supported and was dropped.' },
  FB202: { severity: 'error', summary: 'A cell has a Python syntax error.' },
  FB203: { severity: 'info', summary: 'A `pip install` line became an image requirement.' },
  // Analysis and graph (FB3xx)
  FB300: { severity: 'error', summary: 'A name is used but no earlier step provides it.' },
  FB301: { severity: 'error', summary: '`prev:` names an unknown step.' },
  FB302: { severity: 'error', summary: '`prev:` names a later step.' },
  FB303: { severity: 'error', summary: 'The steps form a cycle (or, as information, a step names itself in `prev:`).' },
  FB304: { severity: 'warning', summary: 'An imports or functions cell does more than define things.' },
  FB305: { severity: 'error', summary: 'A generator or open file (as a warning, an iterator) is handed to a later step, which cannot receive it as the notebook has it.' },
  FB306: { severity: 'warning', summary: 'A cell of a step reopened later runs before a step it follows in the notebook, and that changes what it reads or what the other step reads.' },
  FB307: { severity: 'warning', summary: 'Global random state is seeded in one step (or the prelude) and drawn from in another: each step starts with fresh random state.' },
  FB308: { severity: 'warning', summary: 'A view (`df.to_numpy()`, `a[1:3]`) and its base are split by a step boundary, and a later step changes one and reads the other: the change no longer reaches it.' },
  // Parameters and metrics (FB4xx)
  FB400: { severity: 'error', summary: 'A pipeline-parameters cell has a statement that is not `NAME = literal`.' },
  FB401: { severity: 'error', summary: 'A pipeline parameter is defined twice.' },
  FB402: { severity: 'error', summary: 'A pipeline-metrics line is not `print(name)` or `name`.' },
  FB403: { severity: 'error', summary: 'A metric names a variable that no step binds.' },
  FB404: { severity: 'info', summary: 'A step assigns to a pipeline parameter; later steps receive its new value from that step.' },
  // Kubeflow Pipelines target (FB5xx)
  FB500: { severity: 'warning', summary: 'A setting or step option has no Kubeflow Pipelines equivalent and is left out of the compiled pipeline.' },
  FB501: { severity: 'warning', summary: 'A pipeline parameter\'s value holds `{{$`, which Kubeflow Pipelines may replace before the step sees it.' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type DiagnosticCode = keyof typeof DIAGNOSTICS;

/** How a cell is named in messages: `cell 7` is the seventh cell in the editor (index 6). */
export function cellLabel(index: number): string {
  return `cell ${index + 1}`;
}

/** Builds a diagnostic with the code's default severity unless one is given. */
export function diag(code: DiagnosticCode, message: string, at: Location = {}, severity?: Severity): Diagnostic {
  const d: Diagnostic = { severity: severity ?? DIAGNOSTICS[code].severity, code, message };
  if (at.cell !== undefined) d.cell = at.cell;
  if (at.line !== undefined) d.line = at.line;
  if (at.column !== undefined) d.column = at.column;
  return d;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * Formats a diagnostic the way compilers do, so terminals and CI logs make it clickable:
 * `NOTEBOOK:cell N:LINE: error CODE message`. People count cells from 1, in the order the
 * editor shows them (markdown cells included), so `cell N` is the 0-based index plus one;
 * JSON output keeps the 0-based index.
 */
export function formatDiagnostic(notebookPath: string, d: Diagnostic): string {
  let where = notebookPath;
  if (d.cell !== undefined) {
    where += `:cell ${d.cell + 1}`;
    if (d.line !== undefined) where += `:${d.line}`;
  }
  return `${where}: ${d.severity} ${d.code} ${d.message}`;
}

/** The whole input is unusable (not JSON, not nbformat 4, no cells). The CLI exits with code 2. */
export class InputError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'InputError';
  }
}

/** Orders diagnostics by cell, line, column so output is stable and reads top to bottom. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => [d.cell ?? -1, d.line ?? 0, d.column ?? 0] as const;
  return [...diagnostics].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || a.code.localeCompare(b.code);
  });
}
