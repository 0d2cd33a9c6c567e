// The Python interpreter that runs the steps: probing it once before a run (does it exist,
// which version is it: part of every cache key), and telling users how to install a
// module it lacks, in the terms of that interpreter (Debian's apt packages for the system
// Python, where pip refuses to install; pip for any other).

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

export interface PythonInfo {
  /** What the user asked for (`python3`, `/usr/bin/python3`). */
  command: string;
  /** `sys.executable`: the real interpreter behind shims such as pyenv's. */
  executable: string;
  /** `sys.version`, first word: `3.11.2`. */
  version: string;
}

export class PythonNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonNotFoundError';
  }
}

const PROBE = 'import sys; print(sys.executable); print(sys.version.split()[0]); print(sys.version_info[0])';

/** Runs the interpreter once. Throws `PythonNotFoundError` with what to do when it cannot be used. */
export function probePython(command: string, signal?: AbortSignal, env: NodeJS.ProcessEnv = process.env): Promise<PythonInfo> {
  return new Promise((resolve, reject) => {
    execFile(command, ['-c', PROBE], { timeout: 30_000, signal, env }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          reject(new PythonNotFoundError(`the Python interpreter '${command}' was not found. Install Python 3 (Debian/Ubuntu: apt-get install python3 python3-pandas python3-sklearn), or pass --python with the path of one, e.g. --python /usr/bin/python3.`));
        } else if (code === 'EACCES') {
          reject(new PythonNotFoundError(`'${command}' cannot be executed (permission denied); pass --python with the path of a Python 3 interpreter.`));
        } else if (code === 'ABORT_ERR') {
          reject(err);
        } else {
          const why = (stderr.trim().split('\n').pop() ?? '') || err.message;
          reject(new PythonNotFoundError(`'${command}' does not work as a Python interpreter (${why}); pass --python with the path of a Python 3 interpreter.`));
        }
        return;
      }
      const [executable = command, version = '', major = ''] = stdout.trim().split('\n');
      if (major.trim() !== '3') {
        reject(new PythonNotFoundError(`'${command}' is Python ${version}; Flowbook steps need Python 3. Pass --python with the path of a Python 3 interpreter.`));
        return;
      }
      resolve({ command, executable: executable.trim(), version: version.trim() });
    });
  });
}

/** Import name → Debian package for the system interpreter, for the modules notebooks use most. */
const APT_PACKAGES: Record<string, string> = {
  numpy: 'python3-numpy',
  pandas: 'python3-pandas',
  sklearn: 'python3-sklearn',
  scipy: 'python3-scipy',
  matplotlib: 'python3-matplotlib',
  seaborn: 'python3-seaborn',
  statsmodels: 'python3-statsmodels',
  joblib: 'python3-joblib',
  yaml: 'python3-yaml',
  requests: 'python3-requests',
  PIL: 'python3-pil',
  bs4: 'python3-bs4',
  lxml: 'python3-lxml',
  sympy: 'python3-sympy',
  networkx: 'python3-networkx',
  nltk: 'python3-nltk',
  h5py: 'python3-h5py',
  tables: 'python3-tables',
  openpyxl: 'python3-openpyxl',
  xlrd: 'python3-xlrd',
  pyarrow: 'python3-pyarrow',
  skimage: 'python3-skimage',
  cv2: 'python3-opencv',
  torch: 'python3-torch',
  xgboost: 'python3-xgboost',
  tqdm: 'python3-tqdm',
  dill: 'python3-dill',
  cloudpickle: 'python3-cloudpickle',
  sqlalchemy: 'python3-sqlalchemy',
  psycopg2: 'python3-psycopg2',
  jinja2: 'python3-jinja2',
  bokeh: 'python3-bokeh',
  plotly: 'python3-plotly',
};

/** Import name → PyPI distribution, where they differ. */
const PIP_PACKAGES: Record<string, string> = {
  sklearn: 'scikit-learn',
  PIL: 'pillow',
  yaml: 'pyyaml',
  bs4: 'beautifulsoup4',
  cv2: 'opencv-python',
  skimage: 'scikit-image',
  tables: 'tables',
  psycopg2: 'psycopg2-binary',
};

/** True for Debian's own interpreter, which only apt packages (not pip) should change. */
export function isDebianSystemPython(python: PythonInfo): boolean {
  let real = python.executable;
  try {
    real = fs.realpathSync(python.executable);
  } catch {
    // keep the reported path
  }
  return /^\/usr\/bin\/python3(\.\d+)?$/.test(real) && fs.existsSync('/etc/debian_version');
}

/** How to make `module` importable for this interpreter: one command, ready to paste. */
export function installHint(module: string, python: PythonInfo): string {
  return installCommand([module], python);
}

/** Modules every step script imports through the generated runtime, whatever the notebook imports. */
export const RUNTIME_MODULES: readonly string[] = ['cloudpickle'];

/** Packages the interpreter lacks for this pipeline, as plain data for the CLI and the editor. */
export interface MissingModules {
  /** The interpreter checked (`sys.executable`). */
  python: string;
  /** Top-level import names that `importlib.util.find_spec` cannot find, sorted. */
  modules: string[];
  /** One command (two when some have no Debian package) that installs them all. */
  install: string;
}

/** What the interpreter has installed: found once per run, before any step starts. */
export interface PythonEnvironment {
  /** Distribution name → version, for every installed distribution. */
  distributions: Record<string, string>;
  /** Top-level module → the distributions that provide it (`importlib.metadata.packages_distributions`). */
  providers: Record<string, string[]>;
  /** The interpreter's library folders (stdlib, site-packages, user site): not the steps' inputs. */
  libraryFolders: string[];
  missing?: MissingModules;
}

const ENVIRONMENT_PROBE = String.raw`
import importlib.util, json, site, sys, sysconfig
missing = []
folders = [p for p in sysconfig.get_paths().values() if p]
try:
    folders += site.getsitepackages() + [site.getusersitepackages()]
except Exception:
    pass
for name in json.loads(sys.argv[1]):
    try:
        if importlib.util.find_spec(name) is None:
            missing.append(name)
    except (ImportError, ValueError):
        missing.append(name)
distributions, providers = {}, {}
try:
    import importlib.metadata as metadata
    for d in metadata.distributions():
        name = d.metadata['Name']
        if name:
            distributions[name] = d.version
    providers = metadata.packages_distributions()
except Exception:
    pass
print(json.dumps({'missing': missing, 'distributions': distributions, 'providers': providers, 'folders': sorted(set(folders))}))
`;

/**
 * Checks in one subprocess, importing nothing (`find_spec` on top-level names only), that
 * every module in `modules` can be imported, and lists the installed distributions.
 */
export function probeEnvironment(
  python: PythonInfo, modules: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<PythonEnvironment> {
  const tops = [...new Set([...modules, ...RUNTIME_MODULES].map((m) => m.split('.')[0] ?? m).filter((m) => /^[A-Za-z_]\w*$/.test(m)))].sort();
  return new Promise((resolve, reject) => {
    execFile(python.executable, ['-c', ENVIRONMENT_PROBE, JSON.stringify(tops)], { cwd: options.cwd, env: options.env, signal: options.signal, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ABORT_ERR') reject(err);
        else reject(new PythonNotFoundError(`'${python.executable}' could not check which packages are installed (${(stderr.trim().split('\n').pop() ?? '') || err.message}); pass --python with the path of another Python 3 interpreter.`));
        return;
      }
      const json = JSON.parse(stdout) as { missing: string[]; distributions: Record<string, string>; providers: Record<string, string[]>; folders: string[] };
      const result: PythonEnvironment = { distributions: json.distributions, providers: json.providers, libraryFolders: json.folders };
      if (json.missing.length > 0) result.missing = { python: python.executable, modules: json.missing, install: installCommand(json.missing, python) };
      resolve(result);
    });
  });
}

/** One command that installs every module in `modules` for this interpreter (apt for Debian's own Python where a package is known). */
export function installCommand(modules: readonly string[], python: PythonInfo): string {
  const pip = (names: readonly string[]) => `${isDebianSystemPython(python) ? python.executable : python.command} -m pip install ${names.map((m) => PIP_PACKAGES[m] ?? m).join(' ')}`;
  if (!isDebianSystemPython(python)) return pip(modules);
  const apt = modules.filter((m) => APT_PACKAGES[m] !== undefined);
  const rest = modules.filter((m) => APT_PACKAGES[m] === undefined);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  const commands = [];
  if (apt.length > 0) commands.push(`${sudo}apt-get install ${apt.map((m) => APT_PACKAGES[m]).join(' ')}`);
  if (rest.length > 0) commands.push(`${pip(rest)} (Debian's Python may need a virtual environment for pip: python3 -m venv)`);
  return commands.join(' && ');
}

/** The message for missing modules, naming how to choose another interpreter (`--python PATH`, or a setting in the editor). */
export function missingModulesMessage(missing: MissingModules, chooseInterpreter = '--python PATH'): string {
  const n = missing.modules.length;
  return `${n === 1 ? 'a Python package is' : `${n} Python packages are`} missing for ${missing.python}: ${missing.modules.join(', ')}. Install ${n === 1 ? 'it' : 'them'} with: ${missing.install} (or choose another Python interpreter: ${chooseInterpreter})`;
}
