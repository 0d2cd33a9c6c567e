// Calls known not to change their arguments or their receiver. Passing `x` to a call, or
// calling a method on `x`, makes a step a possible provider of `x` (it may have changed
// it in place) — conservative, but it serialises steps that only read their inputs, e.g.
// two models fitted on the same `X_train` would stop running in parallel. These lists name
// the common calls of Python and the data-science stack that only read. A call with
// `inplace=True` always counts as a change.

/** Functions (by their last name: `len`, `np.mean` → `mean`) that do not change their arguments. */
export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set([
  // builtins
  'abs', 'all', 'any', 'ascii', 'bin', 'bool', 'bytes', 'callable', 'chr', 'complex', 'dict', 'dir', 'divmod',
  'enumerate', 'filter', 'float', 'format', 'frozenset', 'getattr', 'hasattr', 'hash', 'hex', 'id', 'int',
  'isinstance', 'issubclass', 'len', 'list', 'map', 'max', 'min', 'oct', 'ord', 'pow', 'print', 'range', 'repr',
  'reversed', 'round', 'set', 'sorted', 'str', 'sum', 'tuple', 'type', 'vars', 'zip', 'display', 'iter', 'open',
  // progress bars wrap an iterable without changing it
  'tqdm', 'trange', 'tqdm_notebook',
  // copies and serialisation to text
  'copy', 'deepcopy', 'dumps',
  // numpy / pandas functions that return new objects
  'array', 'asarray', 'concatenate', 'stack', 'vstack', 'hstack', 'column_stack', 'mean', 'median', 'std', 'var',
  'average', 'percentile', 'quantile', 'argmax', 'argmin', 'argsort', 'unique', 'where', 'isnan', 'isfinite',
  'sqrt', 'log', 'exp', 'dot', 'matmul', 'allclose', 'array_equal', 'zeros_like', 'ones_like', 'full_like',
  'concat', 'merge', 'DataFrame', 'Series', 'crosstab', 'pivot_table', 'get_dummies', 'cut', 'qcut', 'to_datetime',
  'to_numeric',
  // scikit-learn model selection and metrics
  'train_test_split', 'cross_val_score', 'cross_validate', 'cross_val_predict', 'accuracy_score', 'precision_score',
  'recall_score', 'f1_score', 'roc_auc_score', 'log_loss', 'mean_squared_error', 'mean_absolute_error', 'r2_score',
  'confusion_matrix', 'classification_report', 'balanced_accuracy_score', 'roc_curve', 'precision_recall_curve',
  'silhouette_score',
  // methods that read their arguments (the receiver is handled separately)
  'fit', 'partial_fit', 'predict', 'predict_proba', 'predict_log_proba', 'decision_function', 'score', 'transform',
  'fit_transform', 'fit_predict', 'inverse_transform', 'evaluate', 'join', 'startswith', 'endswith', 'isin',
  'plot', 'scatter', 'hist', 'bar', 'imshow', 'heatmap', 'histplot', 'boxplot', 'lineplot', 'scatterplot', 'countplot',
]);

/** Methods (by name) that leave their receiver unchanged: `df.head()` does not change `df`. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set([
  'head', 'tail', 'describe', 'info', 'copy', 'mean', 'median', 'std', 'var', 'sum', 'min', 'max', 'count', 'nunique',
  'unique', 'value_counts', 'corr', 'cov', 'to_numpy', 'to_list', 'tolist', 'to_dict', 'to_csv', 'to_json',
  'to_string', 'to_parquet', 'to_pickle', 'items', 'keys', 'values', 'get', 'predict', 'predict_proba',
  'predict_log_proba', 'decision_function', 'score', 'transform', 'inverse_transform', 'get_params', 'groupby',
  'agg', 'aggregate', 'astype', 'drop', 'dropna', 'fillna', 'rename', 'replace', 'reset_index', 'set_index',
  'sort_values', 'sort_index', 'merge', 'join', 'query', 'filter', 'select_dtypes', 'isna', 'isnull', 'notna',
  'notnull', 'any', 'all', 'round', 'abs', 'clip', 'reshape', 'flatten', 'ravel', 'argmax', 'argmin', 'dot',
  'format', 'split', 'strip', 'lower', 'upper', 'startswith', 'endswith', 'encode', 'decode', 'plot', 'hist',
  'sample', 'duplicated', 'memory_usage', 'isin', 'between', 'corrwith', 'idxmax', 'idxmin', 'nlargest',
  'nsmallest', 'pivot', 'pivot_table', 'melt', 'explode', 'map', 'apply', 'applymap', 'pipe', 'shift', 'diff',
  'pct_change', 'cumsum', 'cumprod', 'rolling', 'expanding', 'resample', 'equals', 'index', 'find', 'issubset',
  'issuperset', 'union', 'intersection', 'difference',
]);

/** Whether calling method `name` leaves its receiver unchanged. */
export function isReadOnlyMethod(name: string, hasInplaceTrue: boolean): boolean {
  return !hasInplaceTrue && READ_ONLY_METHODS.has(name);
}

/** Whether calling `name` leaves its arguments unchanged. */
export function isReadOnlyFunction(name: string, hasInplaceTrue: boolean): boolean {
  return !hasInplaceTrue && READ_ONLY_FUNCTIONS.has(name);
}
