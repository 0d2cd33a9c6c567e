// Reads the markers of a step script back: which notebook cell and line a script line came
// from. The reference reading of the convention in docs/architecture.md: a line
// `#@flowbook cell=N` is followed by cell N's code line for line (`#@flowbook cell=N line=K`:
// from line K of the cell on, for a carried definition); `#@flowbook generated` starts
// generated code again.

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
    const marker = text.startsWith(CELL_MARKER) ? /^(\d+)(?: line=(\d+))?$/.exec(text.slice(CELL_MARKER.length)) : null;
    if (marker) {
      // `line=K`: the chunk starts at line K of the cell (a carried definition).
      const first = marker[2] === undefined ? 1 : Number(marker[2]);
      return i + 1 === line ? undefined : { cell: Number(marker[1]), line: first + line - (i + 2) };
    }
  }
  return undefined;
}
