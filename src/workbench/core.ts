// The heavy half of the extension, loaded on first use through one dynamic import (webpack
// puts it in its own chunk): the compiler with the tree-sitter Python grammar, the emitter,
// YAML, and the local runner. Activation never loads it.

export { Compiler } from '../converter/index';
export { emitWorkflow } from '../converter/emit/index';
export { DEFAULT_IMAGE } from '../converter/emit/options';
export { toYaml } from '../converter/yaml';
export { startRun, RunOptionsError, probePython, PythonNotFoundError } from '../runner/index';
export { defaultImageGap, describeGap } from '../images/defaultImageGaps';
