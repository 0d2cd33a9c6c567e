// Maps what a failed step left on stderr back to the notebook: the last Python traceback
// (its innermost frame that lies in a notebook cell: a `<flowbook cell=N>` frame, also in
// a function an earlier step passed on, or a step script line located through the
// `#@flowbook` markers, see converter/emit/sourceMap.ts), or the one-line
// `flowbook: ...` message the generated runtime exits with (a value that cannot be
// loaded or saved).

import { cellFrame, scriptLocation } from '../converter/emit/sourceMap';
import type { ScriptLocation } from '../converter/emit/sourceMap';

export type { ScriptLocation } from '../converter/emit/sourceMap';

export interface PythonFailure {
  /** `IndexError`, `pandas.errors.ParserError`, ...; undefined for a runtime message. */
  exception?: string;
  /** The first line of the exception's message, or the runtime's message; '' when none. */
  detail: string;
  /** The innermost frame that lies in a notebook cell. */
  location?: ScriptLocation;
  /** For ModuleNotFoundError: the top-level module that is missing. */
  module?: string;
}

/**
 * Reads the last traceback in `stderr` and locates it in the notebook. `scriptPath` is the
 * path the script was run under (as it appears in `File "..."` lines). Returns undefined
 * when stderr holds neither a Python exception nor a runtime message.
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
  const from = start >= 0 ? start + 1 : lines.findIndex((l) => /^\s*File ".*", line \d+/.test(l));
  const frames: { file: string; line: number }[] = [];
  let exceptionLine: string | undefined;
  for (let i = Math.max(from, 0); from >= 0 && i < lines.length; i++) {
    const text = lines[i] ?? '';
    const frame = /^\s*File "(.*)", line (\d+)/.exec(text);
    if (frame) {
      frames.push({ file: frame[1] ?? '', line: Number(frame[2]) });
      continue;
    }
    // The exception line is the first unindented line after the frames.
    if (/^[A-Za-z_][\w.]*(:|$)/.test(text)) {
      exceptionLine = text;
      break;
    }
  }
  if (exceptionLine === undefined) return runtimeMessage(lines);

  const colon = exceptionLine.indexOf(':');
  const exception = colon < 0 ? exceptionLine.trim() : exceptionLine.slice(0, colon);
  const detail = colon < 0 ? '' : exceptionLine.slice(colon + 1).trim();
  const failure: PythonFailure = { exception, detail };
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    const at = f === undefined ? undefined : f.file === scriptPath ? scriptLocation(source, f.line) : cellFrame(f.file, f.line);
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

/** The generated runtime stops a step with `sys.exit('flowbook: <message>')`. */
function runtimeMessage(lines: string[]): PythonFailure | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^flowbook: (.+)$/.exec(lines[i] ?? '');
    if (m?.[1] && !m[1].startsWith('metric ')) return { detail: m[1] };
  }
  return undefined;
}
