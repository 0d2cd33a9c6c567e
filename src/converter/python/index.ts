// The Python analysis of Flowbook: lowers IPython syntax, parses with the tree-sitter Python
// grammar (wasm, loaded once per process) and analyses scopes, one code cell at a time.
// Results are cached by source text, so re-analysing a notebook after one edit parses only
// the edited cell; cell indices are stamped on copies on the way out, so the cache is never
// shared with callers. Nothing here runs notebook code, and nothing throws on any input.

import { diag, type Diagnostic } from '../diagnostics';
import type { CellAnalysis, CellEffects, NameRef, PipelineParameter } from '../ir';
import { loadGrammar, syntaxMessage, type PythonGrammar } from './grammar';
import { lowerCell } from './ipython';
import { literalFrom, metricsFrom, parametersFrom, type Literal } from './literals';
import { analyzeScopes } from './scopes';

export { PYTHON_BUILTINS } from './builtins';
export { lowerIPython } from './ipython';

/** How many distinct cell sources the analysis cache keeps (least recently used go first). */
const CACHE_SIZE = 4096;
/** Parameters and metrics cells are few: their caches start over when they reach this size. */
const DECLARATIVE_CACHE_SIZE = 64;

export interface PythonAnalyzerOptions {
  /** The folder holding `tree-sitter.wasm` and `tree-sitter-python.wasm` (the extension bundle copies them to `dist/`). */
  wasmDir?: string;
}

export class PythonAnalyzer {
  /** Cell-independent analyses by source text; a Map keeps insertion order, which makes it an LRU. */
  private readonly cache = new Map<string, CellAnalysis>();
  private readonly parameterCache = new Map<string, { parameters: PipelineParameter[]; diagnostics: Diagnostic[] }>();
  private readonly metricCache = new Map<string, { names: NameRef[]; diagnostics: Diagnostic[] }>();

  private constructor(private readonly grammar: PythonGrammar) {}

  /** Loads the grammar once per process (module-level promise cache); `wasmDir` overrides where the .wasm files are. */
  static async create(options: PythonAnalyzerOptions = {}): Promise<PythonAnalyzer> {
    return new PythonAnalyzer(await loadGrammar(options.wasmDir));
  }

  /**
   * IPython lowering + scope analysis of one code cell. Cached by source text; `cell` is
   * stamped on the diagnostics and pip requirements of the returned copy. Never throws.
   */
  analyzeCell(source: string, cell: number): CellAnalysis {
    return stamp(this.cached(source), cell);
  }

  /**
   * Like `analyzeCell`, without the copy: only `pip` and `diagnostics` are new objects; the
   * rest is the cached analysis itself, shared by every caller, so it must not be changed.
   * For the pipeline builder, which only reads it and runs on every keystroke in the editor.
   */
  analyzeCellShared(source: string, cell: number): CellAnalysis {
    const a = this.cached(source);
    return {
      code: a.code, reads: a.reads, binds: a.binds, mutates: a.mutates, deletes: a.deletes, definitions: a.definitions,
      imports: a.imports, starImports: a.starImports, pip: stampPip(a, cell), diagnostics: stampDiagnostics(a, cell),
      effects: a.effects,
    };
  }

  /** A `pipeline-parameters` cell: each `NAME = literal` line becomes a parameter; anything else is FB400, a repeated name FB401. */
  parseParameters(source: string, cell: number): { parameters: PipelineParameter[]; diagnostics: Diagnostic[] } {
    return this.declarative(this.parameterCache, source, cell, () => parametersFrom(this.grammar.parse(source), source, cell));
  }

  /** A `pipeline-metrics` cell: `print(name)` or `name` lines; anything else is FB402. */
  parseMetrics(source: string, cell: number): { names: NameRef[]; diagnostics: Diagnostic[] } {
    return this.declarative(this.metricCache, source, cell, () => metricsFrom(this.grammar.parse(source), source, cell));
  }

  /** One Python literal typed outside a notebook (a `-p` value), read as a parameter's value is; nothing is evaluated. */
  readLiteral(text: string): Literal {
    return literalFrom(this.grammar.parse(text), text);
  }

  /** Drops every cached analysis (for tests and memory pressure). */
  clearCache(): void {
    this.cache.clear();
    this.parameterCache.clear();
    this.metricCache.clear();
  }

  /**
   * The parameters or metrics of a cell, cached by cell and source like the analyses (the
   * results name their cell). Callers get a deep copy, so they may change it freely.
   */
  private declarative<T>(cache: Map<string, T>, source: string, cell: number, parse: () => T): T {
    const key = `${cell}\u0000${source}`;
    let result = cache.get(key);
    if (result === undefined) {
      result = parse();
      if (cache.size >= DECLARATIVE_CACHE_SIZE) cache.clear();
      cache.set(key, result);
    }
    return structuredClone(result);
  }

  /** The cell-independent analysis of `source`, from the cache when it is there. */
  private cached(source: string): CellAnalysis {
    let analysis = this.cache.get(source);
    if (analysis) {
      this.cache.delete(source);
    } else {
      analysis = this.analyze(source);
      if (this.cache.size >= CACHE_SIZE) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
    }
    this.cache.set(source, analysis);
    return analysis;
  }

  private analyze(source: string): CellAnalysis {
    const lowered = lowerCell(source);
    const diagnostics = lowered.diagnostics;
    try {
      const parsed = this.grammar.parse(lowered.code);
      if (parsed.problem) {
        const p = parsed.problem;
        diagnostics.push(diag('FB202', syntaxMessage(parsed.problem), { line: p.line, column: p.column }));
      }
      return { code: lowered.code, ...analyzeScopes(parsed.root, lowered.code), pip: lowered.pip.map((p) => ({ ...p, cell: -1 })), diagnostics };
    } catch (error) {
      // A bug here must not take the editor or the compiler down with it: report and carry on.
      const reason = error instanceof Error ? error.message : String(error);
      diagnostics.push(diag('FB202', `Flowbook could not analyse this cell (${reason}); please report this as a Flowbook bug.`));
      return {
        code: lowered.code, reads: [], binds: [], mutates: [], deletes: [], definitions: [], imports: [], starImports: [],
        pip: lowered.pip.map((p) => ({ ...p, cell: -1 })), diagnostics, effects: noEffects(),
      };
    }
  }
}

/** A copy of a cached analysis for cell `cell`: callers may change it freely. */
function stamp(a: CellAnalysis, cell: number): CellAnalysis {
  return {
    code: a.code,
    reads: a.reads.map((r) => ({ ...r })),
    binds: a.binds.slice(),
    mutates: a.mutates.slice(),
    deletes: a.deletes.slice(),
    definitions: a.definitions.map((d) => ({ ...d, freeNames: d.freeNames.slice() })),
    imports: a.imports.map((i) => ({ ...i })),
    starImports: a.starImports.slice(),
    pip: stampPip(a, cell),
    diagnostics: stampDiagnostics(a, cell),
    effects: structuredClone(a.effects),
  };
}

/** The effects of a cell that could not be analysed. */
export function noEffects(): CellEffects {
  return { aliases: [], views: [], changes: [], calls: [], functions: [], importStatements: [], specialValues: [], random: [] };
}

function stampPip(a: CellAnalysis, cell: number): CellAnalysis['pip'] {
  return a.pip.length === 0 ? [] : a.pip.map((p) => ({ specs: p.specs.slice(), cell, line: p.line }));
}

function stampDiagnostics(a: CellAnalysis, cell: number): Diagnostic[] {
  return a.diagnostics.length === 0 ? [] : a.diagnostics.map((d) => diag(d.code, d.message, { cell, line: d.line, column: d.column }, d.severity));
}
