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
  const apt = APT_PACKAGES[module];
  const pip = PIP_PACKAGES[module] ?? module;
  if (isDebianSystemPython(python)) {
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    return apt ? `${sudo}apt-get install ${apt}` : `${python.executable} -m pip install ${pip} (Debian's Python may need a virtual environment for pip: python3 -m venv)`;
  }
  return `${python.command} -m pip install ${pip}`;
}
