// The compiler's public face, shared by the CLI, the local runner and the extension.
// `Compiler` keeps the Python grammar loaded and the per-cell analyses cached, so the
// editor can re-analyse a notebook on every keystroke: only edited cells are parsed again.

import * as fs from 'node:fs';
import { Diagnostic, InputError, diag, hasErrors, sortDiagnostics } from './diagnostics';
import type { Notebook, Pipeline } from './ir';
import { parseNotebook } from './notebook';
import { buildPipeline, CellAnalyzer } from './pipeline';
import { PythonAnalyzer, PYTHON_BUILTINS } from './python';
import { compileKfp, emitWorkflow, type KfpCompiled } from './emit';
import type { Workflow } from '../argo/compiled';
import type { EmitOptions } from './emit/options';

export type { EmitOptions } from './emit/options';
export type { Workflow } from '../argo/compiled';
export * from './diagnostics';
export type * from './ir';
export { parseNotebook } from './notebook';

export interface CompileResult {
  pipeline: Pipeline;
  /** Present when the notebook compiled without errors. */
  workflow?: Workflow;
  /** Every diagnostic, sorted by cell and line. */
  diagnostics: Diagnostic[];
}

export interface KfpCompileResult {
  pipeline: Pipeline;
  /** Present when the notebook compiled without errors for Kubeflow Pipelines. */
  kfp?: KfpCompiled;
  /** Every diagnostic, the target's included, sorted by cell and line. */
  diagnostics: Diagnostic[];
}

export interface CompilerOptions {
  /** Where the tree-sitter .wasm files are, when not in node_modules (the extension bundle). */
  wasmDir?: string;
}

export class Compiler {
  private constructor(private readonly analyzer: CellAnalyzer) {}

  static async create(options: CompilerOptions = {}): Promise<Compiler> {
    const python = await PythonAnalyzer.create(options.wasmDir === undefined ? undefined : { wasmDir: options.wasmDir });
    return new Compiler({
      analyzeCell: (source, cell) => python.analyzeCellShared(source, cell),
      parseParameters: (source, cell) => python.parseParameters(source, cell),
      parseMetrics: (source, cell) => python.parseMetrics(source, cell),
      builtins: PYTHON_BUILTINS,
    });
  }

  /** Notebook (already parsed) → pipeline with diagnostics. Synchronous and incremental. */
  analyze(notebook: Notebook, inputDiagnostics: Diagnostic[] = []): Pipeline {
    const pipeline = buildPipeline(notebook, this.analyzer, inputDiagnostics);
    pipeline.diagnostics = sortDiagnostics(pipeline.diagnostics);
    return pipeline;
  }

  /** Notebook text → pipeline and, when it has no errors, the Workflow. Throws `InputError` for unusable input, a notebook without cells among it. */
  compileText(text: string, path: string, options: EmitOptions = {}): CompileResult {
    const pipeline = this.analyzeText(text, path);
    const result: CompileResult = { pipeline, diagnostics: pipeline.diagnostics };
    if (!hasErrors(pipeline.diagnostics)) result.workflow = emitWorkflow(pipeline, options);
    return result;
  }

  /** Notebook text → pipeline with diagnostics, nothing emitted (`flowbook inspect`). Throws `InputError` as `compileText` does. */
  analyzeText(text: string, path: string): Pipeline {
    const { notebook, diagnostics } = parseNotebook(text, path);
    // The editor shows an empty notebook as it is; compiling one is a mistake (a wrong or truncated file).
    if (notebook.cells.length === 0) throw new InputError(diag('FB003', 'the notebook has no cells: there is nothing to compile. Check that this is the notebook you meant, and that it was saved.'));
    return this.analyze(notebook, diagnostics);
  }

  /** Notebook text → pipeline and, when neither the notebook nor the target has errors, the Kubeflow Pipelines IR. */
  compileKfpText(text: string, path: string, options: EmitOptions = {}): KfpCompileResult {
    const pipeline = this.analyzeText(text, path);
    if (hasErrors(pipeline.diagnostics)) return { pipeline, diagnostics: pipeline.diagnostics };
    const kfp = compileKfp(pipeline, options);
    const all = sortDiagnostics([...pipeline.diagnostics, ...kfp.diagnostics]);
    return hasErrors(kfp.diagnostics) ? { pipeline, diagnostics: all } : { pipeline, kfp, diagnostics: all };
  }
}

let shared: Promise<Compiler> | undefined;

/** A process-wide compiler (the grammar loads once). */
export function sharedCompiler(options: CompilerOptions = {}): Promise<Compiler> {
  shared ??= Compiler.create(options);
  return shared;
}

export async function compileNotebookText(text: string, path: string, options: EmitOptions = {}): Promise<CompileResult> {
  return (await sharedCompiler()).compileText(text, path, options);
}

/** Reads and analyses a notebook file without emitting anything. A file that cannot be read throws `InputError`. */
export async function analyzeNotebookFile(path: string): Promise<Pipeline> {
  return (await sharedCompiler()).analyzeText(readNotebookText(path), path);
}

/** Reads a notebook file and compiles it for Kubeflow Pipelines. A file that cannot be read throws `InputError`. */
export async function compileKfpNotebookFile(path: string, options: EmitOptions = {}): Promise<KfpCompileResult> {
  return (await sharedCompiler()).compileKfpText(readNotebookText(path), path, options);
}

/** Reads and compiles a notebook file. A file that cannot be read throws `InputError`. */
export async function compileNotebookFile(path: string, options: EmitOptions = {}): Promise<CompileResult> {
  return compileNotebookText(readNotebookText(path), path, options);
}

export function readNotebookText(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new InputError(diag('FB000', `cannot read the notebook: ${reason}.`));
  }
}
