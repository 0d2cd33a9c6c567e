// The maintained table from Python import names to the distributions (PyPI projects) that
// provide them. It is consulted before the interpreter's own metadata, so a notebook resolves
// the same way whichever interpreter is at hand; names not listed here count only when the
// interpreter confirms them (`importlib.metadata.packages_distributions()`).
// Keep entries sorted by import name; values are PyPI names as the project spells them.

/** Import names whose distribution has a different name. */
export const RENAMED_IMPORTS: Readonly<Record<string, string>> = {
  Bio: 'biopython',
  Crypto: 'pycryptodome',
  Cython: 'Cython',
  IPython: 'ipython',
  Levenshtein: 'levenshtein',
  MySQLdb: 'mysqlclient',
  OpenSSL: 'pyOpenSSL',
  PIL: 'pillow',
  absl: 'absl-py',
  attr: 'attrs',
  bs4: 'beautifulsoup4',
  cv2: 'opencv-python',
  dateutil: 'python-dateutil',
  docx: 'python-docx',
  dotenv: 'python-dotenv',
  faiss: 'faiss-cpu',
  fitz: 'pymupdf',
  git: 'GitPython',
  github: 'PyGithub',
  google_auth_oauthlib: 'google-auth-oauthlib',
  haiku: 'dm-haiku',
  imblearn: 'imbalanced-learn',
  jose: 'python-jose',
  jwt: 'PyJWT',
  magic: 'python-magic',
  mpl_toolkits: 'matplotlib',
  multipart: 'python-multipart',
  pkg_resources: 'setuptools',
  pptx: 'python-pptx',
  psycopg2: 'psycopg2-binary',
  pylab: 'matplotlib',
  ruamel: 'ruamel.yaml',
  serial: 'pyserial',
  skimage: 'scikit-image',
  sklearn: 'scikit-learn',
  slugify: 'python-slugify',
  snappy: 'python-snappy',
  tree: 'dm-tree',
  umap: 'umap-learn',
  usb: 'pyusb',
  yaml: 'pyyaml',
  zmq: 'pyzmq',
};

/**
 * Common data-science packages whose import name is their distribution name. Listed so they
 * resolve (unpinned, with a warning) even when the chosen interpreter lacks them.
 */
export const SAME_NAME_IMPORTS: ReadonlySet<string> = new Set([
  'boto3', 'catboost', 'dask', 'datasets', 'fastapi', 'flask', 'gensim', 'h5py', 'jax', 'joblib',
  'keras', 'kfp', 'kserve', 'kubernetes', 'lightgbm', 'lxml', 'matplotlib', 'mlflow', 'networkx',
  'nltk', 'numba', 'numpy', 'onnx', 'onnxruntime', 'openpyxl', 'optuna', 'pandas', 'plotly',
  'polars', 'pyarrow', 'pydantic', 'requests', 'scipy', 'seaborn', 'shap', 'spacy',
  'statsmodels', 'sympy', 'tensorflow', 'torch', 'torchvision', 'tqdm', 'transformers',
  'xgboost',
]);

/** The distribution the table names for an import, if any. */
export function tableDistribution(module: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(RENAMED_IMPORTS, module)) return RENAMED_IMPORTS[module];
  return SAME_NAME_IMPORTS.has(module) ? module : undefined;
}
