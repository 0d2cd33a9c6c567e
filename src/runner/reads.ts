// What a step read from outside the pipeline, so a cached result is reused only while those
// things are unchanged. While a step runs, a Python audit hook (`sys.addaudithook`) notes
// the files it opens for reading and the folders it lists, outside the interpreter's own
// files and the run folder; at exit it writes them, with the installed packages it
// imported, to a JSON file. The runner stamps each path (size, mtime, SHA-256) into the
// step record; `checkReads` tells on reuse whether anything changed, in words for people.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';

/**
 * Python source defining `_flowbook_watch_reads(out_path, ignore)`: installs the hook and
 * writes `{"files": [...], "dirs": [...], "packages": [...]}` to `out_path` at exit. A file
 * first opened for writing is the step's own output, not an input. Paths under `ignore`
 * (the runs folder, the interpreter's library folders), the interpreter's prefixes and
 * system folders are not recorded.
 */
export const READS_RECORDER = String.raw`
def _flowbook_watch_reads(out_path, ignore):
    import atexit, json, os, sys
    # The interpreter's own folders come in 'ignore' (found once per run, see python.ts).
    roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, '/usr', '/etc', '/proc', '/sys', '/dev', '/run', '/var/lib', '/snap', '/opt/conda']
    roots += list(ignore)
    roots = tuple(sorted({os.path.join(os.path.realpath(r), '') for r in roots if r}))
    # (path, cwd) -> how it was first opened: a step opening one file a million times is one entry.
    events = {}
    getcwd, fsdecode, O_ACCMODE, O_RDONLY = os.getcwd, os.fsdecode, getattr(os, 'O_ACCMODE', 3), os.O_RDONLY

    def hook(event, args):
        if event == 'open':
            path, flags = args[0], args[2]
            if isinstance(path, (str, bytes)) and isinstance(flags, int):
                events.setdefault((fsdecode(path), getcwd()), (flags & O_ACCMODE) == O_RDONLY and not flags & os.O_CREAT)
        elif event in ('os.listdir', 'os.scandir'):
            path = args[0]
            if path is None or isinstance(path, (str, bytes)):
                events.setdefault((fsdecode(path or '.'), getcwd()), 'dir')

    def outside(path):
        return not (path + os.sep).startswith(roots) and '__pycache__' not in path

    real_dirs = {}

    def real(path):
        # realpath() is pure Python and slow: resolve each folder once, keep the file name.
        head, tail = os.path.split(os.path.normpath(path))
        if head not in real_dirs:
            real_dirs[head] = os.path.realpath(head)
        return os.path.join(real_dirs[head], tail)

    def save():
        files, dirs, written = {}, {}, set()
        for (path, cwd), how in list(events.items()):
            full = real(os.path.join(cwd, path))
            if how == 'dir':
                if outside(full):
                    dirs[full] = True
            elif not how:
                written.add(full)
            elif full not in written and outside(full):
                files[full] = True
        packages = set()
        for name, module in list(sys.modules.items()):
            where = getattr(module, '__file__', None)
            if not where or '.' in name:
                continue
            where = real(where)
            if outside(where):
                files.setdefault(where, True)
            elif 'site-packages' in where or 'dist-packages' in where:
                packages.add(name)
        with open(out_path, 'w') as f:
            json.dump({'files': sorted(files), 'dirs': sorted(dirs), 'packages': sorted(packages)}, f)

    atexit.register(save)
    sys.addaudithook(hook)
`;

/**
 * `python -c STEP_BOOT SCRIPT READS_JSON IGNORE_JSON` runs SCRIPT as `python SCRIPT` would,
 * with the reads recorder, and dies with its whole process group when file descriptor 3
 * (a pipe whose other end the runner holds) closes: the runner ended, even by kill -9.
 */
export const STEP_BOOT = `${READS_RECORDER}
import builtins, importlib.machinery, json, os, signal, sys, threading, types
def _flowbook_watchdog():
    try:
        while os.read(3, 64):
            pass
    except OSError:
        pass
    os.killpg(os.getpgid(0), signal.SIGKILL)
try:
    os.set_inheritable(3, False)
    threading.Thread(target=_flowbook_watchdog, daemon=True).start()
except OSError:
    pass
_flowbook_script = sys.argv[1]
_flowbook_watch_reads(sys.argv[2], json.loads(sys.argv[3]))
sys.argv = [_flowbook_script]
sys.path[0] = os.path.dirname(_flowbook_script)
# What 'python script.py' does; runpy would import pkgutil, a tenth of a second.
_flowbook_main = types.ModuleType('__main__')
_flowbook_main.__file__ = _flowbook_script
_flowbook_main.__builtins__ = builtins
_flowbook_main.__loader__ = importlib.machinery.SourceFileLoader('__main__', _flowbook_script)
sys.modules['__main__'] = _flowbook_main
try:
    with open(_flowbook_script, 'rb') as _flowbook_file:
        _flowbook_code = compile(_flowbook_file.read(), _flowbook_script, 'exec')
    exec(_flowbook_code, _flowbook_main.__dict__)
except (SystemExit, KeyboardInterrupt):
    raise
except BaseException as error:
    # The traceback from the script's own frames on, as 'python script.py' shows it.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != _flowbook_script:
        tb = tb.tb_next
    sys.excepthook(type(error), error, tb or error.__traceback__)
    sys.exit(1)
`;

/** One file or folder a step read, as it was when the step finished. */
export interface ReadStamp {
  /** Absolute path. */
  path: string;
  /** For a folder: SHA-256 of its sorted entry names. */
  kind?: 'folder';
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** What the recorder wrote: absolute paths, and top-level modules from installed packages. */
export interface RecordedReads {
  files: string[];
  dirs: string[];
  packages: string[];
}

/** Reads the recorder's file; undefined when the step did not get to write it. */
export function readRecordedReads(file: string): RecordedReads | undefined {
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RecordedReads>;
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    return { files: strings(json.files), dirs: strings(json.dirs), packages: strings(json.packages) };
  } catch {
    return undefined;
  }
}

/** SHA-256 of a file, streamed (any size). */
export function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

function folderSha256(dir: string): string {
  return crypto.createHash('sha256').update(fs.readdirSync(dir).sort().join('\0')).digest('hex');
}

/** Stamps every recorded path; a path gone since is left out. */
export async function stampReads(reads: RecordedReads): Promise<ReadStamp[]> {
  const stamps: ReadStamp[] = [];
  for (const path of reads.files) {
    try {
      const st = fs.statSync(path);
      stamps.push({ path, size: st.size, mtimeMs: st.mtimeMs, sha256: await fileSha256(path) });
    } catch {
      // Deleted by the step or since: nothing to compare later.
    }
  }
  for (const path of reads.dirs) {
    try {
      const st = fs.statSync(path);
      stamps.push({ path, kind: 'folder', size: 0, mtimeMs: st.mtimeMs, sha256: folderSha256(path) });
    } catch {
      // As above.
    }
  }
  return stamps;
}

/**
 * Why a result that read `stamps` can no longer stand in, or undefined when everything is
 * as it was. Size and mtime unchanged count as unchanged; otherwise the content decides.
 */
export async function checkReads(stamps: readonly ReadStamp[]): Promise<string | undefined> {
  for (const s of stamps) {
    let st: fs.Stats;
    try {
      st = fs.statSync(s.path);
    } catch {
      return `${s.path} is gone`;
    }
    if (s.kind === 'folder') {
      if (st.mtimeMs !== s.mtimeMs && folderSha256(s.path) !== s.sha256) return `the files in ${s.path} changed`;
      continue;
    }
    if (st.size !== s.size) return `${s.path} changed`;
    if (st.mtimeMs !== s.mtimeMs && (await fileSha256(s.path)) !== s.sha256) return `${s.path} changed`;
  }
  return undefined;
}
