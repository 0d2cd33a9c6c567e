// Loads the tree-sitter Python grammar (wasm) once per process and turns a parse into a
// compact tree of plain JS objects: named nodes only (no comments, no string pieces), with
// 1-based positions in UTF-16 units (what JS strings and VS Code use). The wasm tree is freed
// before returning, so callers never hold native memory. Walks are iterative: deep nesting
// cannot overflow the stack.

import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Language, Parser, type TreeCursor } from '@vscode/tree-sitter-wasm';

/** A named node of the Python syntax tree. `children` holds named children only, without comments. */
export interface PyNode {
  readonly type: string;
  /** The field name under the parent (`left`, `body`, ...), or null; only set below `FIELD_PARENTS` types. */
  readonly field: string | null;
  /** UTF-16 offsets into the parsed code. */
  readonly start: number;
  readonly end: number;
  /** 1-based line and column of the start. */
  readonly line: number;
  readonly column: number;
  readonly children: PyNode[];
}

/** The first syntax problem of a parse: `message` is a phrase for a user, without the position. */
export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

export interface ParsedCode {
  root: PyNode;
  problem?: SyntaxProblem;
}

/** A loaded grammar: parses code into a `ParsedCode`. */
export class PythonGrammar {
  private constructor(
    private readonly parser: Parser,
    private readonly types: readonly string[],
    private readonly named: readonly boolean[],
    private readonly fields: readonly (string | null)[],
  ) {}

  static async load(wasmDir: string): Promise<PythonGrammar> {
    await initRuntime(wasmDir);
    const bytes = await readFile(path.join(wasmDir, 'tree-sitter-python.wasm'));
    const language = await Language.load(new Uint8Array(bytes));
    const parser = new Parser();
    parser.setLanguage(language);
    // Tables by id, so the walk asks the wasm side as little as possible per node.
    const types: string[] = [];
    const named: boolean[] = [];
    for (let id = 0; id < language.nodeTypeCount; id++) {
      types.push(language.nodeTypeForId(id) ?? '');
      named.push(language.nodeTypeIsNamed(id));
    }
    const fields: (string | null)[] = [];
    for (let id = 0; id <= language.fieldCount; id++) fields.push(language.fieldNameForId(id));
    return new PythonGrammar(parser, types, named, fields);
  }

  /** Parses `code`. Never throws for any input string. */
  parse(code: string): ParsedCode {
    const tree = this.parser.parse(code);
    if (!tree) return { root: emptyModule(code) };
    try {
      const checkErrors = tree.rootNode.hasError;
      const cursor = tree.walk();
      try {
        return this.convert(cursor, code, checkErrors);
      } finally {
        cursor.delete();
      }
    } finally {
      tree.delete();
    }
  }

  private convert(cursor: TreeCursor, code: string, checkErrors: boolean): ParsedCode {
    const root: PyNode = { type: 'module', field: null, start: 0, end: code.length, line: 1, column: 1, children: [] };
    let problem: SyntaxProblem | undefined;
    // Blocks, compound statements and Python 2 statements, for the checks the grammar skips.
    const structural: PyNode[] = [root];
    const done = () => ({ root, problem: problem ?? structuralProblem(structural, code) });
    // Start offsets come in document order, so the line of each node is found by moving
    // forward over line starts instead of asking the cursor for a position.
    let line = 1;
    let lineStart = 0;
    let nextBreak = code.indexOf('\n');
    // stack[i] is the PyNode whose children are at cursor depth i + 1.
    const stack: PyNode[] = [root];
    if (!cursor.gotoFirstChild()) return done();
    for (;;) {
      const parent = stack[stack.length - 1] as PyNode;
      const typeId = cursor.nodeTypeId;
      // ERROR (id 65535) and other built-in symbols are outside the tables.
      const type = typeId < this.types.length ? (this.types[typeId] as string) : cursor.nodeType;
      const isNamed = typeId < this.named.length ? (this.named[typeId] as boolean) : cursor.nodeIsNamed;
      if (checkErrors && problem === undefined) {
        if (cursor.nodeIsMissing) problem = missingProblem(code, cursor.startIndex, type, isNamed);
        else if (type === 'ERROR') problem = errorProblem(code, cursor.startIndex, cursor.endIndex);
      }
      // Anonymous nodes are tokens (`is not` holds only keywords) and string pieces carry no
      // names: neither gets a PyNode nor a descent, which keeps the walk cheap.
      let collector: PyNode | undefined;
      if (isNamed && !LEAVES_TO_SKIP.has(type)) {
        const start = cursor.startIndex;
        while (nextBreak >= 0 && nextBreak < start) {
          line++;
          lineStart = nextBreak + 1;
          nextBreak = code.indexOf('\n', lineStart);
        }
        collector = {
          type,
          field: FIELD_PARENTS.has(parent.type) ? (this.fields[cursor.currentFieldId] ?? null) : null,
          start,
          end: cursor.endIndex,
          line,
          column: start - lineStart + 1,
          children: [],
        };
        parent.children.push(collector);
        if (STRUCTURAL_TYPES.has(type)) structural.push(collector);
      }
      if (collector && !LEAF_TYPES.has(type) && cursor.gotoFirstChild()) {
        stack.push(collector);
        continue;
      }
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) return done();
        stack.pop();
        if (stack.length === 0) return done();
      }
    }
  }
}

/** The FB202 message for a syntax problem. */
export function syntaxMessage(problem: SyntaxProblem): string {
  return `Python syntax error on line ${problem.line}, column ${problem.column}: ${problem.message}.`;
}

/**
 * The node types whose children's field names the analysis reads. Asking the cursor for a
 * field costs a call into wasm per node, so other nodes' children get `field: null`.
 */
export const FIELD_PARENTS: ReadonlySet<string> = new Set([
  'attribute', 'subscript', 'call', 'keyword_argument', 'assignment', 'augmented_assignment', 'named_expression',
  'for_statement', 'for_in_clause', 'as_pattern', 'dict_pattern', 'pair', 'lambda', 'decorated_definition',
  'function_definition', 'class_definition', 'typed_parameter', 'default_parameter', 'typed_default_parameter',
  'type_alias_statement', 'import_statement', 'import_from_statement', 'aliased_import',
]);

/** Named nodes that never have children: no need to ask the cursor. */
const LEAF_TYPES = new Set(['identifier', 'integer', 'float', 'true', 'false', 'none', 'ellipsis', 'type_conversion']);

/** Named nodes left out of the tree, with everything below them. */
const LEAVES_TO_SKIP = new Set(['comment', 'line_continuation', 'string_start', 'string_content', 'string_end', 'escape_sequence', 'escape_interpolation']);

function emptyModule(code: string): PyNode {
  return { type: 'module', field: null, start: 0, end: code.length, line: 1, column: 1, children: [] };
}

/** 1-based line and column of an offset, lines counted at `\n` as everywhere in Flowbook. */
function positionOf(code: string, offset: number): { line: number; column: number } {
  let line = 1;
  for (let i = code.indexOf('\n'); i >= 0 && i < offset; i = code.indexOf('\n', i + 1)) line++;
  const lineStart = offset === 0 ? 0 : code.lastIndexOf('\n', offset - 1) + 1;
  return { line, column: offset - lineStart + 1 };
}

function missingProblem(code: string, offset: number, type: string, named: boolean): SyntaxProblem {
  const what = named ? `a ${type.replace(/_/g, ' ')}` : `\`${type}\``;
  return { ...positionOf(code, offset), message: `missing ${what}` };
}

function errorProblem(code: string, start: number, end: number): SyntaxProblem {
  const lineEnd = code.indexOf('\n', start);
  let snippet = code.slice(start, Math.min(end, lineEnd < 0 ? code.length : lineEnd)).trim();
  if (snippet.length > 40) snippet = `${snippet.slice(0, 40)}…`;
  const near = snippet ? ` near \`${snippet}\`` : '';
  return { ...positionOf(code, start), message: `invalid syntax${near}; check brackets, quotes, colons and indentation there` };
}

const COMPOUND_WITH_BLOCK = new Set([
  'function_definition', 'class_definition', 'for_statement', 'while_statement', 'if_statement',
  'elif_clause', 'else_clause', 'with_statement', 'try_statement', 'except_clause', 'finally_clause',
  'case_clause',
]);

const STRUCTURAL_TYPES = new Set([...COMPOUND_WITH_BLOCK, 'module', 'block', 'print_statement', 'exec_statement']);

/**
 * Python errors the grammar tolerates: Python 2 statements, a compound statement without its
 * indented block, and statements whose indentation does not match their siblings'. `nodes`
 * are the nodes of `STRUCTURAL_TYPES`, collected while converting. Returns the first problem.
 */
function structuralProblem(nodes: readonly PyNode[], code: string): SyntaxProblem | undefined {
  let first: SyntaxProblem | undefined;
  const consider = (line: number, column: number, message: string) => {
    if (!first || line < first.line || (line === first.line && column < first.column)) first = { line, column, message };
  };
  for (const node of nodes) {
    if (node.type === 'module' || node.type === 'block') {
      indentationProblem(node, code, consider);
    } else if (node.type === 'print_statement' || node.type === 'exec_statement') {
      const word = node.type === 'print_statement' ? 'print' : 'exec';
      consider(node.line, node.column, `Python 2 \`${word}\` statement; write \`${word}(...)\` (steps run Python 3)`);
    } else if (!node.children.some((c) => c.type === 'block' && c.children.length > 0)) {
      consider(node.line, node.column, 'expected an indented block after this line');
    }
  }
  return first;
}

function indentationProblem(block: PyNode, code: string, consider: (line: number, column: number, message: string) => void): void {
  // Only statements that begin their line count: `a = 1; b = 2` and `if x: y` share a line.
  let expected = block.type === 'module' ? 1 : -1;
  for (const stmt of block.children) {
    if (!startsLine(code, stmt)) continue;
    if (expected < 0) {
      expected = stmt.column;
    } else if (stmt.column > expected) {
      consider(stmt.line, stmt.column, 'unexpected indent');
    } else if (stmt.column < expected) {
      consider(stmt.line, stmt.column, 'this line is indented less than the lines before it in the same block');
    }
  }
}

/** Whether only spaces, tabs or form feeds precede the node on its line. */
function startsLine(code: string, node: PyNode): boolean {
  for (let i = node.start - node.column + 1; i < node.start; i++) {
    const c = code.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 12) return false;
  }
  return true;
}

/** The tree-sitter runtime is one wasm module per process: initialise it once. */
let runtime: Promise<void> | undefined;

function initRuntime(wasmDir: string): Promise<void> {
  if (!runtime) {
    runtime = Parser.init({ locateFile: (file: string) => path.join(wasmDir, file) });
    runtime.catch(() => {
      runtime = undefined;
    });
  }
  return runtime;
}

/** Grammar loads by wasm folder; one promise per folder for the whole process. */
const loads = new Map<string, Promise<PythonGrammar>>();

/**
 * The folder of the wasm files that ship with `@vscode/tree-sitter-wasm` (its main script
 * sits beside them). Resolving the package's JS, not a .wasm path, keeps bundlers from
 * trying to bundle the wasm; a bundle passes `wasmDir` instead.
 */
export function defaultWasmDir(): string {
  const main: unknown = require.resolve('@vscode/tree-sitter-wasm');
  if (typeof main !== 'string') throw new Error('Cannot locate the tree-sitter wasm files in this bundle: pass wasmDir to PythonAnalyzer.create().');
  return path.dirname(main);
}

/** Loads the grammar once per process (per wasm folder). */
export function loadGrammar(wasmDir: string = defaultWasmDir()): Promise<PythonGrammar> {
  let load = loads.get(wasmDir);
  if (!load) {
    load = PythonGrammar.load(wasmDir);
    loads.set(wasmDir, load);
    load.catch(() => loads.delete(wasmDir));
  }
  return load;
}
