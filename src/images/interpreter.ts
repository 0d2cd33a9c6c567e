// Asks the user's Python interpreter which installed distributions provide some import names
// and at which versions. The probe reads package metadata through `importlib.metadata` only:
// it never imports the notebook's code or the packages themselves, and it runs outside the
// notebook's folder so nothing there lands on `sys.path`.

import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { ImageError } from './errors';

export interface InterpreterReport {
  /** The interpreter as given (`python3`, `/usr/bin/python3`). */
  python: string;
  /** `sys.executable` as the interpreter reports it. */
  executable: string;
  /** `3.11.2`. */
  version: string;
  /** For each asked import name: the distributions providing it (may be empty). */
  modules: Record<string, string[]>;
  /** By PEP 503 name: the distribution's own spelling and its installed version. */
  versions: Record<string, { name: string; version: string }>;
}

// Python ≥ 3.8. `packages_distributions` is 3.10+; older interpreters get the same answer
// from top_level.txt or the file list in RECORD.
const PROBE = String.raw`
import json, re, sys
import importlib.metadata as md
req = json.load(sys.stdin)
def canon(n): return re.sub(r'[-_.]+', '-', n).lower()
try:
    top = md.packages_distributions()
except AttributeError:
    top = {}
    for d in md.distributions():
        txt = d.read_text('top_level.txt')
        names = txt.split() if txt else [f.parts[0] if len(f.parts) > 1 else f.name.split('.')[0] for f in (d.files or ()) if f.suffix == '.py' or len(f.parts) > 1]
        for n in set(names):
            top.setdefault(n, []).append(d.metadata['Name'])
mods = {}
for m in req['modules']:
    seen = {}
    for d in top.get(m, []):
        if d: seen.setdefault(canon(d), d)
    mods[m] = [seen[k] for k in sorted(seen)]
wanted = set(canon(n) for n in req['distributions'])
for ds in mods.values():
    wanted.update(canon(d) for d in ds)
versions = {}
for d in md.distributions():
    n = d.metadata['Name']
    if n and canon(n) in wanted and canon(n) not in versions:
        versions[canon(n)] = {'name': n, 'version': d.version}
json.dump({'executable': sys.executable, 'version': '%d.%d.%d' % sys.version_info[:3], 'modules': mods, 'versions': versions}, sys.stdout)
`;

/**
 * Runs `PYTHON -c PROBE` with the names on stdin. Throws `ImageError` when the interpreter
 * cannot be started or fails, naming it and how to choose another.
 */
export async function probeInterpreter(
  python: string,
  modules: readonly string[],
  distributions: readonly string[],
  signal?: AbortSignal,
): Promise<InterpreterReport> {
  const input = JSON.stringify({ modules: [...modules], distributions: [...distributions] });
  const { code, stdout, stderr, error } = await new Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }>((resolve) => {
    const child = spawn(python, ['-c', PROBE], { cwd: os.tmpdir(), stdio: ['pipe', 'pipe', 'pipe'], signal });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: null, stdout, stderr, error: err }));
    child.on('close', (c) => resolve({ code: c, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
  const how = 'choose the interpreter the notebook runs with (`--python PATH` on the command line, the Python interpreter setting in VS Code)';
  if (error) {
    if (signal?.aborted) throw new ImageError('Reading package versions was cancelled.', 'cancelled');
    throw new ImageError(`Cannot run the Python interpreter \`${python}\` to read package versions: ${error.message}. Install Python 3.8 or later, or ${how}.`, 'interpreter');
  }
  if (code !== 0) {
    const last = stderr.trim().split('\n').slice(-3).join('\n');
    throw new ImageError(`The Python interpreter \`${python}\` failed while reading package metadata (exit code ${code}):\n${last}\nIt needs Python 3.8 or later; ${how}.`, 'interpreter');
  }
  const parsed = JSON.parse(stdout) as Omit<InterpreterReport, 'python'>;
  return { python, ...parsed };
}
