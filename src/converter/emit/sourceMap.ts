// Reads the markers of a step script back: which notebook cell and line a script line came
// from. The reference reading of the convention in docs/architecture.md: a line
// `#@flowbook cell=N` is followed by cell N's code line for line, `#@flowbook generated`
// starts generated code again.

import { CELL_MARKER, GENERATED_MARKER } from './script';

export interface ScriptLocation {
  /** 0-based notebook cell index. */
  cell: number;
  /** 1-based line within the cell. */
  line: number;
}

/** Where 1-based script line `line` comes from, or undefined for generated code. */
export function scriptLocation(script: string, line: number): ScriptLocation | undefined {
  const lines = script.split('\n');
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const text = lines[i] ?? '';
    if (text === GENERATED_MARKER) return undefined;
    if (text.startsWith(CELL_MARKER) && /^\d+$/.test(text.slice(CELL_MARKER.length))) {
      return i + 1 === line ? undefined : { cell: Number(text.slice(CELL_MARKER.length)), line: line - (i + 1) };
    }
  }
  return undefined;
}
