// Loads the tree-sitter Python grammar (wasm) once per process and turns a parse into a
// compact tree of plain JS objects: named nodes only (no comments, no string pieces), with
// 1-based positions in UTF-16 units (what JS strings and VS Code use). The wasm tree is freed
// before returning, so callers never hold native memory. Walks are iterative: deep nesting
// cannot overflow the stack. The walk calls web-tree-sitter's wasm binding directly when the
// runtime exposes it (most of a parse's cost was `TreeCursor` copying its state through JS),
// and falls back to `TreeCursor`; a unit test holds the two walks to the same trees.

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

/**
 * The cursor operations the conversion needs, each taking the wasm address of the tree and
 * returning a number (booleans as 0/1). Two implementations: `rawCursorOps` calls the wasm
 * binding of web-tree-sitter directly, `publicCursorOps` goes through its `TreeCursor` class.
 */
interface CursorOps {
  typeId(tree: number): number;
  isNamed(tree: number): number;
  isMissing(tree: number): number;
  fieldId(tree: number): number;
  startIndex(tree: number): number;
  endIndex(tree: number): number;
  gotoFirstChild(tree: number): number;
  gotoNextSibling(tree: number): number;
  gotoParent(tree: number): number;
}

/**
 * The exports of web-tree-sitter's wasm binding that the direct walk calls. Each one reads the
 * cursor from the binding's transfer buffer and writes it back there, so a walk that calls only
 * these keeps the cursor in wasm memory. `TreeCursor` instead copies the cursor in and out
 * through JS on every call, which made that copying most of the cost of a parse.
 */
interface RawBinding {
  _ts_tree_root_node_wasm(tree: number): void;
  _ts_node_has_error_wasm(tree: number): number;
  _ts_tree_cursor_new_wasm(tree: number): void;
  _ts_tree_cursor_delete_wasm(tree: number): void;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_named_wasm(tree: number): number;
  _ts_tree_cursor_current_node_is_missing_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
}

const RAW_EXPORTS: readonly (keyof RawBinding)[] = [
  '_ts_tree_root_node_wasm', '_ts_node_has_error_wasm', '_ts_tree_cursor_new_wasm', '_ts_tree_cursor_delete_wasm',
  '_ts_tree_cursor_current_node_type_id_wasm', '_ts_tree_cursor_current_node_is_named_wasm',
  '_ts_tree_cursor_current_node_is_missing_wasm', '_ts_tree_cursor_current_field_id_wasm',
  '_ts_tree_cursor_start_index_wasm', '_ts_tree_cursor_end_index_wasm', '_ts_tree_cursor_goto_first_child_wasm',
  '_ts_tree_cursor_goto_next_sibling_wasm', '_ts_tree_cursor_goto_parent_wasm',
];

/** The binding when `module` (the object web-tree-sitter's emscripten runtime filled in) has every export the walk needs. */
function rawBindingOf(module: object | undefined): RawBinding | undefined {
  if (!module) return undefined;
  const m = module as Record<string, unknown>;
  return RAW_EXPORTS.every((name) => typeof m[name] === 'function') ? (module as RawBinding) : undefined;
}

/**
 * The raw operations, read from the binding on every parse: emscripten's exports start as
 * stubs that replace themselves with the wasm function on their first call.
 */
function rawCursorOps(b: RawBinding): CursorOps {
  return {
    typeId: b._ts_tree_cursor_current_node_type_id_wasm,
    isNamed: b._ts_tree_cursor_current_node_is_named_wasm,
    isMissing: b._ts_tree_cursor_current_node_is_missing_wasm,
    fieldId: b._ts_tree_cursor_current_field_id_wasm,
    startIndex: b._ts_tree_cursor_start_index_wasm,
    endIndex: b._ts_tree_cursor_end_index_wasm,
    gotoFirstChild: b._ts_tree_cursor_goto_first_child_wasm,
    gotoNextSibling: b._ts_tree_cursor_goto_next_sibling_wasm,
    gotoParent: b._ts_tree_cursor_goto_parent_wasm,
  };
}

function publicCursorOps(cursor: TreeCursor): CursorOps {
  return {
    typeId: () => cursor.nodeTypeId,
    isNamed: () => (cursor.nodeIsNamed ? 1 : 0),
    isMissing: () => (cursor.nodeIsMissing ? 1 : 0),
    fieldId: () => cursor.currentFieldId,
    startIndex: () => cursor.startIndex,
    endIndex: () => cursor.endIndex,
    gotoFirstChild: () => (cursor.gotoFirstChild() ? 1 : 0),
    gotoNextSibling: () => (cursor.gotoNextSibling() ? 1 : 0),
    gotoParent: () => (cursor.gotoParent() ? 1 : 0),
  };
}

// Per node type id: what the conversion does with it (bit flags, so one array read answers).
const NAMED = 1;
/** Named but left out of the tree, with everything below it (`LEAVES_TO_SKIP`). */
const SKIPPED = 2;
/** Never has children (`LEAF_TYPES`). */
const LEAF = 4;
/** Its children's field names are read (`FIELD_PARENTS`). */
const READS_FIELDS = 8;
/** Collected for `structuralProblem` (`STRUCTURAL_TYPES`). */
const STRUCTURAL = 16;

/** A loaded grammar: parses code into a `ParsedCode`. */
export class PythonGrammar {
  private constructor(
    private readonly parser: Parser,
    private readonly types: readonly string[],
    private readonly flags: Uint8Array,
    private readonly fields: readonly (string | null)[],
    /** The wasm binding, when this web-tree-sitter exposes it; otherwise the walk uses `TreeCursor`. */
    private readonly raw: RawBinding | undefined,
  ) {}

  static async load(wasmDir: string): Promise<PythonGrammar> {
    const module = await initRuntime(wasmDir);
    const bytes = await readFile(path.join(wasmDir, 'tree-sitter-python.wasm'));
    const language = await Language.load(new Uint8Array(bytes));
    const parser = new Parser();
    parser.setLanguage(language);
    // Tables by id, so the walk asks the wasm side as little as possible per node.
    const types: string[] = [];
    const flags = new Uint8Array(language.nodeTypeCount);
    for (let id = 0; id < language.nodeTypeCount; id++) {
      const type = language.nodeTypeForId(id) ?? '';
      types.push(type);
      flags[id] = (language.nodeTypeIsNamed(id) ? NAMED : 0)
        | (LEAVES_TO_SKIP.has(type) ? SKIPPED : 0)
        | (LEAF_TYPES.has(type) ? LEAF : 0)
        | (FIELD_PARENTS.has(type) ? READS_FIELDS : 0)
        | (STRUCTURAL_TYPES.has(type) ? STRUCTURAL : 0);
    }
    const fields: (string | null)[] = [];
    for (let id = 0; id <= language.fieldCount; id++) fields.push(language.fieldNameForId(id));
    return new PythonGrammar(parser, types, flags, fields, rawBindingOf(module));
  }

  /** Parses `code`. Never throws for any input string. `portable` walks with `TreeCursor` even when the binding is usable (for tests). */
  parse(code: string, portable = false): ParsedCode {
    const tree = this.parser.parse(code);
    if (!tree) return { root: emptyModule(code) };
    try {
      // The tree's wasm address: web-tree-sitter keeps it at index 0 of its objects.
      const address = (tree as unknown as Record<number, unknown>)[0];
      const raw = portable ? undefined : this.raw;
      if (raw && typeof address === 'number') {
        // The root node goes to the transfer buffer, where the next two calls read it.
        raw._ts_tree_root_node_wasm(address);
        const checkErrors = raw._ts_node_has_error_wasm(address) === 1;
        raw._ts_tree_cursor_new_wasm(address);
        try {
          return this.convert(rawCursorOps(raw), address, code, checkErrors);
        } finally {
          raw._ts_tree_cursor_delete_wasm(address);
        }
      }
      const checkErrors = tree.rootNode.hasError;
      const cursor = tree.walk();
      try {
        return this.convert(publicCursorOps(cursor), 0, code, checkErrors);
      } finally {
        cursor.delete();
      }
    } finally {
      tree.delete();
    }
  }

  /** Whether `parse` walks the tree through the wasm binding directly. */
  get usesBinding(): boolean {
    return this.raw !== undefined;
  }

  private convert(ops: CursorOps, tree: number, code: string, checkErrors: boolean): ParsedCode {
    const { typeId: typeIdOf, isNamed, isMissing, fieldId, startIndex, endIndex, gotoFirstChild, gotoNextSibling, gotoParent } = ops;
    const { types, flags, fields } = this;
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
    // stack[i] is the PyNode whose children are at cursor depth i + 1; parentFlags the flags of its type.
    const stack: PyNode[] = [root];
    const stackFlags: number[] = [0];
    let parent = root;
    let parentFlags = stackFlags[0] as number;
    if (gotoFirstChild(tree) !== 1) return done();
    for (;;) {
      const typeId = typeIdOf(tree);
      // ERROR (id 65535) and other built-in symbols are outside the tables.
      const known = typeId < types.length;
      const type = known ? (types[typeId] as string) : 'ERROR';
      const f = known ? (flags[typeId] as number) : isNamed(tree) === 1 ? NAMED : 0;
      if (checkErrors && problem === undefined) {
        if (isMissing(tree) === 1) problem = missingProblem(code, startIndex(tree), type, (f & NAMED) !== 0);
        else if (type === 'ERROR') problem = errorProblem(code, startIndex(tree), endIndex(tree));
      }
      // Anonymous nodes are tokens (`is not` holds only keywords) and string pieces carry no
      // names: neither gets a PyNode nor a descent, which keeps the walk cheap.
      if ((f & (NAMED | SKIPPED)) === NAMED) {
        const start = startIndex(tree);
        while (nextBreak >= 0 && nextBreak < start) {
          line++;
          lineStart = nextBreak + 1;
          nextBreak = code.indexOf('\n', lineStart);
        }
        const node: PyNode = {
          type,
          field: (parentFlags & READS_FIELDS) !== 0 ? (fields[fieldId(tree)] ?? null) : null,
          start,
          end: endIndex(tree),
          line,
          column: start - lineStart + 1,
          children: [],
        };
        parent.children.push(node);
        if ((f & STRUCTURAL) !== 0) structural.push(node);
        if ((f & LEAF) === 0 && gotoFirstChild(tree) === 1) {
          stack.push(node);
          stackFlags.push(f);
          parent = node;
          parentFlags = f;
          continue;
        }
      }
      while (gotoNextSibling(tree) !== 1) {
        if (gotoParent(tree) !== 1) return done();
        stack.pop();
        stackFlags.pop();
        if (stack.length === 0) return done();
        parent = stack[stack.length - 1] as PyNode;
        parentFlags = stackFlags[stackFlags.length - 1] as number;
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

/**
 * The tree-sitter runtime is one wasm module per process: initialise it once. Resolves to the
 * options object handed to `Parser.init`, which emscripten fills in with the module's exports
 * (the direct walk's binding); when another caller initialised the runtime first, the object
 * stays empty and the walk falls back to `TreeCursor`.
 */
let runtime: Promise<object> | undefined;

function initRuntime(wasmDir: string): Promise<object> {
  if (!runtime) {
    const module = { locateFile: (file: string) => path.join(wasmDir, file) };
    runtime = Parser.init(module).then(() => module);
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
