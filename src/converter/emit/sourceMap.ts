// Reads the markers of a step script back: which notebook cell and line a script line came
// from. The reference reading of the convention in docs/architecture.md: a line
// `#@flowbook cell=N` (`#@flowbook cell=N line=K`: from line K of the cell on) is followed
// by the call that opens a string literal, then the code line for line, up to the line
// holding the literal's closing quotes. Everything else is generated code. At run time the
// runtime compiles each cell under the filename `<flowbook cell=N>` with the cell's own
// line numbers, so a traceback frame names its cell directly (`cellFrame`).

import { CELL_FILENAME } from './runtime';
import { CELL_MARKER } from './script';

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
    const marker = text.startsWith(CELL_MARKER) ? /^(\d+)(?: line=(\d+))?$/.exec(text.slice(CELL_MARKER.length)) : null;
    if (!marker) continue;
    // Line i + 2 (1-based) opens the literal; the code starts on the next line.
    const quote = /('''|""")$/.exec(lines[i + 1] ?? '')?.[1];
    if (quote === undefined || line <= i + 2) return undefined;
    for (let k = i + 2; k < line; k++) if ((lines[k] ?? '').includes(quote)) return undefined;
    if ((lines[line - 1] ?? '').includes(quote)) return undefined;
    const first = marker[2] === undefined ? 1 : Number(marker[2]);
    return { cell: Number(marker[1]), line: first + line - (i + 3) };
  }
  return undefined;
}

/** The location a traceback frame `File "<flowbook cell=N>", line L` names. */
export function cellFrame(filename: string, line: number): ScriptLocation | undefined {
  const m = CELL_FILENAME.exec(filename);
  return m ? { cell: Number(m[1]), line } : undefined;
}
