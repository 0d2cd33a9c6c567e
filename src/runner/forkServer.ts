// Warm starts for steps. Importing pandas and scikit-learn takes a second or more, and a
// pipeline pays it once per step. A fork server is one Python process that imports the
// packages the step scripts import (well-known, fork-safe ones and the standard library
// only; never the user's own modules) and then forks one child per step: each step still
// runs its unchanged script in its own process and process group, with its own
// environment, working directory and log files, but starts with those modules loaded.
// The server talks JSON lines over stdin/stdout; when its stdin closes (the runner ended
// or died) it kills whatever steps are still running, so no step outlives the runner.

import { spawn, ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { READS_RECORDER } from './reads';

/** Top-level packages known to survive fork() after import; others load in the step itself. */
export const PRELOAD_PACKAGES = [
  'numpy', 'pandas', 'scipy', 'sklearn', 'matplotlib', 'seaborn', 'statsmodels', 'joblib', 'PIL', 'yaml', 'sympy', 'networkx',
  'cloudpickle',
];

const SERVER = String.raw`${READS_RECORDER}
import atexit, builtins, importlib.machinery, json, os, selectors, signal, sys, threading, traceback, types

proto = os.dup(1)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)

lost = []

def send(message):
    # The runner gone (broken pipe) is handled like its input closing: stop the steps.
    data = (json.dumps(message) + '\n').encode()
    try:
        while data:
            data = data[os.write(proto, data):]
    except OSError:
        lost.append(True)

if not hasattr(os, 'fork'):
    send({'op': 'unsupported'})
    sys.exit(0)

request = json.loads(sys.argv[1])
allowed = set(request['packages'])
stdlib = getattr(sys, 'stdlib_module_names', {'json', 'os', 'pickle', 'math', 'sys', 're', 'time', 'random', 'collections'})
here = os.path.realpath(os.getcwd()) + os.sep
loaded, failed = [], []
import importlib, importlib.util
for name in request['modules']:
    top = name.split('.')[0]
    if top not in allowed and top not in stdlib:
        continue
    try:
        spec = importlib.util.find_spec(top)
        origin = os.path.realpath(spec.origin) if spec is not None and spec.origin else ''
        if spec is None or (origin.startswith(here) and 'site-packages' not in origin and 'dist-packages' not in origin):
            continue
        importlib.import_module(name)
        loaded.append(name)
    except BaseException:
        failed.append(name)
sys.stdout.flush()
sys.stderr.flush()

def exit_code(status):
    if hasattr(os, 'waitstatus_to_exitcode'):
        return os.waitstatus_to_exitcode(status)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

def run_script(script):
    # What 'python script.py' does, without runpy's importer search (several ms per step).
    try:
        main = types.ModuleType('__main__')
        main.__file__ = script
        main.__loader__ = importlib.machinery.SourceFileLoader('__main__', script)
        main.__builtins__ = builtins
        sys.modules['__main__'] = main
        with open(script, 'rb') as f:
            code = compile(f.read(), script, 'exec')
        exec(code, main.__dict__)
        return 0
    except SystemExit as stop:
        code = stop.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except BaseException as error:
        # Show the traceback from the script's own frames on, as 'python script.py' would.
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        sys.excepthook(type(error), error, tb)
        return 130 if isinstance(error, KeyboardInterrupt) else 1

def child(message, sel, wake):
    code = 1
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sel.close()
        for fd in (wake[0], wake[1], proto):
            os.close(fd)
        nul = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nul, 0)
        os.close(nul)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        for fd, path in ((1, message['stdout']), (2, message['stderr'])):
            f = os.open(path, flags, 0o644)
            os.dup2(f, fd)
            os.close(f)
        os.chdir(message['cwd'])
        os.environ.clear()
        os.environ.update(message['env'])
        # A fresh interpreter seeds numpy's global generator itself; forked ones would share
        # one state (Python's own random module reseeds itself after a fork).
        numpy = sys.modules.get('numpy')
        if numpy is not None:
            try:
                numpy.random.seed()
            except BaseException:
                pass
        script = message['script']
        sys.argv = [script]
        sys.path[0] = os.path.dirname(script)
        if message.get('reads'):
            _flowbook_watch_reads(*message['reads'])
        code = run_script(script)
        getattr(threading, '_shutdown', lambda: None)()
        atexit._run_exitfuncs()
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code & 0xff)

def main():
    wake = os.pipe()
    for fd in wake:
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(wake[0], selectors.EVENT_READ, 'child')
    children = {}
    pending = b''
    send({'op': 'ready', 'loaded': loaded, 'failed': failed})

    def reap():
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = exit_code(status)
            send({'op': 'exited', 'id': children.pop(pid, None), 'pid': pid,
                  'code': code if code >= 0 else None, 'signal': -code if code < 0 else None})

    while True:
        closed = False
        for key, _ in sel.select(timeout=1.0):
            if key.data == 'child':
                try:
                    while os.read(wake[0], 4096):
                        pass
                except BlockingIOError:
                    pass
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                closed = True
                break
            pending += chunk
            while b'\n' in pending:
                line, pending = pending.split(b'\n', 1)
                if not line.strip():
                    continue
                message = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    child(message, sel, wake)
                try:
                    os.setpgid(pid, pid)
                except OSError:
                    pass
                children[pid] = message['id']
                send({'op': 'started', 'id': message['id'], 'pid': pid})
        reap()
        if closed or lost:
            for pid in list(children):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            while children:
                try:
                    pid, _ = os.waitpid(-1, 0)
                except ChildProcessError:
                    break
                children.pop(pid, None)
            return

main()
`;

/** A step to fork: its output is appended to the `stdout` and `stderr` files. */
export interface ForkedStep {
  id: string;
  script: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: string;
  stderr: string;
  /** Where the step's reads go, and folders not to record (see reads.ts). */
  reads?: [string, string[]];
}

export interface ForkedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Waiter {
  started: (pid: number) => void;
  exited: (exit: ForkedExit) => void;
}

export class ForkServer {
  private readonly waiters = new Map<string, Waiter>();
  private buffer = '';
  private dead: string | undefined;

  private constructor(private readonly child: ChildProcess, readonly loaded: string[]) {}

  /**
   * Starts a server that preloads `modules` (those allowed). Resolves undefined, with the
   * reason, when this Python cannot serve (no fork(), or it failed to start). Aborting
   * `signal` before the server is ready kills it and resolves `{ aborted: true }` at once:
   * a runner starts the server while it checks the packages, and may find it has no use for it.
   */
  static start(python: string, options: { cwd: string; env: NodeJS.ProcessEnv; modules: string[]; signal?: AbortSignal }): Promise<{ server?: ForkServer; reason?: string; aborted?: boolean }> {
    return new Promise((resolve) => {
      if (options.signal?.aborted) {
        resolve({ aborted: true });
        return;
      }
      const request = JSON.stringify({ modules: options.modules, packages: PRELOAD_PACKAGES });
      let child: ChildProcess;
      try {
        child = spawn(python, ['-c', SERVER, request], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (err) {
        resolve({ reason: err instanceof Error ? err.message : String(err) });
        return;
      }
      const onAbort = () => {
        // Its own process group: whatever its imports started goes with it.
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        resolve({ aborted: true });
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('exit', () => options.signal?.removeEventListener('abort', onAbort));
      let server: ForkServer | undefined;
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        stderr = (stderr + d).slice(-4000);
      });
      child.on('error', (e) => resolve({ reason: e.message }));
      child.stdin?.on('error', () => undefined);
      child.stdout?.setEncoding('utf8');
      let early = '';
      const onEarly = (d: string) => {
        early += d;
        const nl = early.indexOf('\n');
        if (nl < 0) return;
        child.stdout?.off('data', onEarly);
        options.signal?.removeEventListener('abort', onAbort);
        const first = JSON.parse(early.slice(0, nl)) as { op: string; loaded?: string[] };
        if (first.op !== 'ready') {
          resolve({ reason: 'this Python cannot fork' });
          return;
        }
        server = new ForkServer(child, first.loaded ?? []);
        child.stdout?.on('data', (more: string) => server?.onData(more));
        server.onData(early.slice(nl + 1));
        child.on('exit', (code, signal) => server?.onExit(`the step launcher (a ${python} process) stopped: ${signal ?? `exit code ${code}`}${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
        resolve({ server });
      };
      child.stdout?.on('data', onEarly);
      child.on('exit', (code, signal) => {
        if (!server) resolve({ reason: `it stopped before it was ready (${signal ?? `exit code ${code}`})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}` });
      });
    });
  }

  /** The server's process id (also its process group). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Forks a step. `started` gets its pid (its process group id too); `exited` its end. */
  run(step: ForkedStep, started: (pid: number) => void): Promise<ForkedExit> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise<ForkedExit>((resolve, reject) => {
      this.waiters.set(step.id, { started, exited: resolve });
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.env)) if (v !== undefined) env[k] = v;
      const ok = this.child.stdin?.write(`${JSON.stringify({ ...step, env })}\n`);
      if (ok === undefined) reject(new Error('the step launcher has no input'));
    });
  }

  /** Ends the server; it kills any step still running (there are none after a normal run). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        resolve();
        return;
      }
      this.child.once('exit', () => resolve());
      this.child.stdin?.end();
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const m = JSON.parse(line) as { op: string; id: string; pid: number; code?: number | null; signal?: number | null };
      const waiter = this.waiters.get(m.id);
      if (!waiter) continue;
      if (m.op === 'started') {
        waiter.started(m.pid);
      } else if (m.op === 'exited') {
        this.waiters.delete(m.id);
        waiter.exited({ code: m.code ?? null, signal: m.signal ? signalName(m.signal) : null });
      }
    }
  }

  private onExit(reason: string): void {
    this.dead = reason;
    // Steps forked by a server that died were killed with it (it kills them on the way out,
    // or they lose their launcher): report them as stopped.
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.exited({ code: null, signal: 'SIGKILL' });
    }
  }
}

function signalName(n: number): NodeJS.Signals {
  const found = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return (found?.[0] ?? 'SIGKILL') as NodeJS.Signals;
}

/**
 * Code that sets environment variables for the process (often to configure a package
 * before it is imported: thread counts, devices) needs packages to load after it runs.
 */
export function setsEnvironment(source: string): boolean {
  return /^\s*os\.environ\[[^\]]+\]\s*=|os\.environ\.(update|setdefault)\(|os\.putenv\(/m.test(source);
}

/** Top-level and dotted module names imported at the start of a line in `sources`. */
export function importedModules(sources: readonly string[]): string[] {
  const names = new Set<string>();
  for (const source of sources) {
    for (const line of source.split('\n')) {
      const from = /^from\s+([A-Za-z_][\w.]*)\s+import\b/.exec(line);
      if (from?.[1]) {
        names.add(from[1]);
        continue;
      }
      const imp = /^import\s+(.+)$/.exec(line);
      if (!imp?.[1]) continue;
      for (const part of imp[1].split('#')[0]?.split(',') ?? []) {
        const name = /^\s*([A-Za-z_][\w.]*)/.exec(part)?.[1];
        if (name) names.add(name);
      }
    }
  }
  return [...names];
}
