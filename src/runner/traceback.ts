// Maps a Python traceback from a generated step script back to the notebook. The emitter
// marks each cell's code with a `#@flowbook cell=N` line followed by the cell's lowered
// code line for line, and `#@flowbook generated` where generated code starts again, so
// script line L after the marker on line M is line L - M of cell N.

export interface ScriptLocation {
  /** 0-based notebook cell index. */
  cell: number;
  /** 1-based line within the cell. */
  line: number;
}

export interface PythonFailure {
  /** `IndexError`, `pandas.errors.ParserError`, ... */
  exception: string;
  /** The first line of the exception's message, '' when it has none. */
  detail: string;
  /** The innermost frame of the step script that lies in a notebook cell. */
  location?: ScriptLocation;
  /** For ModuleNotFoundError: the top-level module that is missing. */
  module?: string;
}

/** For each line of a step script (index 0 = line 1): the cell location, or undefined in generated code. */
export function scriptLineMap(source: string): (ScriptLocation | undefined)[] {
  const map: (ScriptLocation | undefined)[] = [];
  let cell: number | undefined;
  let markerLine = 0;
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? '').trim();
    const marker = /^#@flowbook\s+(?:cell=(\d+)|(generated))\b/.exec(text);
    if (marker) {
      cell = marker[1] !== undefined ? Number(marker[1]) : undefined;
      markerLine = i + 1;
      map.push(undefined);
      continue;
    }
    map.push(cell === undefined ? undefined : { cell, line: i + 1 - markerLine });
  }
  return map;
}

/**
 * Reads the last traceback in `stderr` and locates it in the notebook. `scriptPath` is the
 * path the script was run under (as it appears in `File "..."` lines). Returns undefined
 * when stderr holds no Python exception.
 */
export function parseTraceback(stderr: string, scriptPath: string, source: string): PythonFailure | undefined {
  const lines = stderr.replace(/\r\n/g, '\n').split('\n');
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if ((lines[i] ?? '').startsWith('Traceback (most recent call last):')) {
      start = i;
      break;
    }
  }
  // A SyntaxError in the script itself is reported without a "Traceback" header.
  const from = start >= 0 ? start + 1 : Math.max(0, lines.findIndex((l) => /^\s*File "/.test(l)));
  const frameLines: number[] = [];
  let exceptionLine: string | undefined;
  for (let i = from; i < lines.length; i++) {
    const text = lines[i] ?? '';
    const frame = /^\s*File "(.*)", line (\d+)/.exec(text);
    if (frame) {
      if (frame[1] === scriptPath) frameLines.push(Number(frame[2]));
      continue;
    }
    // The exception line is the first unindented line after the frames.
    if (/^[A-Za-z_][\w.]*(:|$)/.test(text) && (frameLines.length > 0 || start >= 0)) {
      exceptionLine = text;
      break;
    }
  }
  if (exceptionLine === undefined) return undefined;
  const colon = exceptionLine.indexOf(':');
  const exception = colon < 0 ? exceptionLine.trim() : exceptionLine.slice(0, colon);
  const detail = colon < 0 ? '' : exceptionLine.slice(colon + 1).trim();
  const failure: PythonFailure = { exception, detail };

  const map = scriptLineMap(source);
  for (let i = frameLines.length - 1; i >= 0; i--) {
    const at = map[(frameLines[i] ?? 0) - 1];
    if (at) {
      failure.location = at;
      break;
    }
  }
  if (exception === 'ModuleNotFoundError' || exception === 'ImportError') {
    const named = /No module named '([^'.]+)/.exec(detail);
    if (named?.[1]) failure.module = named[1];
  }
  return failure;
}
