// The two declarative cells: `pipeline-parameters` (`NAME = literal` lines) and
// `pipeline-metrics` (`print(name)` or `name` lines). Values are read from the syntax tree
// as Python literals and turned into JSON; nothing is evaluated. Anything else in these
// cells is a diagnostic naming the line and what is allowed.

import { diag, type Diagnostic } from '../diagnostics';
import type { JsonValue, NameRef, ParameterType, PipelineParameter } from '../ir';
import { syntaxMessage, type ParsedCode, type PyNode } from './grammar';
import { setOwn } from '../../common/json';

const ALLOWED_PARAMETER =
  'write one `NAME = value` per line, where value is a number, a string, True/False, None, or a list or dict of those (comments and blank lines are fine)';
const ALLOWED_METRIC = 'write one metric per line as `print(name)` or just `name` (comments and blank lines are fine)';

/** Python literal → JSON value, or the reason it is not a literal we can pass. */
export type Literal = { value: JsonValue; type: ParameterType } | { reason: string };

const MAX_DEPTH = 64;

function field(node: PyNode, name: string): PyNode | undefined {
  for (const child of node.children) if (child.field === name) return child;
  return undefined;
}

function snippet(code: string, node: PyNode): string {
  const text = code.slice(node.start, node.end).split('\n')[0]?.trim() ?? '';
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function literal(node: PyNode, code: string, depth: number): Literal {
  if (depth > MAX_DEPTH) return { reason: 'the value is nested too deeply' };
  const text = code.slice(node.start, node.end);
  switch (node.type) {
    case 'integer':
    case 'float':
      return number(text, node.type);
    case 'unary_operator': {
      const operand = node.children[0];
      const sign = text.trimStart()[0];
      if (!operand || (sign !== '-' && sign !== '+') || (operand.type !== 'integer' && operand.type !== 'float')) {
        return { reason: 'only `-` or `+` in front of a number is allowed' };
      }
      const n = number(code.slice(operand.start, operand.end), operand.type);
      if ('reason' in n) return n;
      return { value: sign === '-' ? -(n.value as number) : (n.value as number), type: n.type };
    }
    case 'true':
      return { value: true, type: 'bool' };
    case 'false':
      return { value: false, type: 'bool' };
    case 'none':
      return { value: null, type: 'NoneType' };
    case 'string':
      return stringLiteral(node, code);
    case 'concatenated_string': {
      let value = '';
      for (const part of node.children) {
        const s = stringLiteral(part, code);
        if ('reason' in s) return s;
        value += s.value as string;
      }
      return { value, type: 'str' };
    }
    case 'parenthesized_expression': {
      const inner = node.children[0];
      if (node.children.length !== 1 || !inner) return { reason: 'not a literal' };
      return literal(inner, code, depth + 1);
    }
    case 'list':
    case 'tuple': {
      const items: JsonValue[] = [];
      for (const child of node.children) {
        const item = literal(child, code, depth + 1);
        if ('reason' in item) return item;
        items.push(item.value);
      }
      return { value: items, type: 'list' };
    }
    case 'dictionary': {
      const object: { [key: string]: JsonValue } = {};
      for (const pair of node.children) {
        const key = pair.type === 'pair' ? field(pair, 'key') : undefined;
        const value = pair.type === 'pair' ? field(pair, 'value') : undefined;
        if (!key || !value) return { reason: 'a dict may only hold `key: value` pairs' };
        const k = literal(key, code, depth + 1);
        if ('reason' in k) return k;
        if (typeof k.value !== 'string') return { reason: 'dict keys must be strings (they become JSON object keys)' };
        const v = literal(value, code, depth + 1);
        if ('reason' in v) return v;
        setOwn(object, k.value, v.value);
      }
      return { value: object, type: 'dict' };
    }
    case 'set':
      return { reason: 'a set cannot be a pipeline parameter; use a list' };
    default:
      return { reason: 'the value is not a literal (it would need the notebook to run)' };
  }
}

function number(text: string, type: 'integer' | 'float'): Literal {
  const t = text.replace(/_/g, '');
  if (/[jJ]$/.test(t)) return { reason: 'complex numbers cannot be pipeline parameters' };
  if (type === 'float') {
    const value = Number(t);
    return Number.isFinite(value) ? { value, type: 'float' } : { reason: 'the number is out of range' };
  }
  const m = /^0([xob])(.*)$/i.exec(t);
  const value = m ? parseInt(m[2] as string, { x: 16, o: 8, b: 2 }[(m[1] as string).toLowerCase() as 'x' | 'o' | 'b']) : Number(t);
  if (!Number.isSafeInteger(value)) return { reason: 'the integer is too large to pass exactly as JSON' };
  return { value, type: 'int' };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '',
};

/** A string literal's value: prefixes, quotes and escapes handled as Python does. */
function stringLiteral(node: PyNode, code: string): Literal {
  if (node.type !== 'string') return { reason: 'not a string literal' };
  const text = code.slice(node.start, node.end);
  const m = /^([A-Za-z]*)("""|'''|"|')/.exec(text);
  if (!m) return { reason: 'not a string literal' };
  const prefix = (m[1] as string).toLowerCase();
  const quote = m[2] as string;
  if (prefix.includes('b')) return { reason: 'bytes cannot be pipeline parameters; use a str' };
  if ((prefix.includes('f') || prefix.includes('t')) && node.children.some((c) => c.type === 'interpolation')) {
    return { reason: 'an f-string with `{...}` needs the notebook to run; write the string out' };
  }
  const body = text.slice(m[0].length, text.length - quote.length);
  if (prefix.includes('r')) return { value: body, type: 'str' };
  let value = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch !== '\\' || i === body.length - 1) {
      value += ch;
      continue;
    }
    const next = body[i + 1] as string;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      value += simple;
      i++;
      continue;
    }
    const hex = next === 'x' ? 2 : next === 'u' ? 4 : next === 'U' ? 8 : 0;
    if (hex > 0) {
      const digits = body.slice(i + 2, i + 2 + hex);
      if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) return { reason: `the escape \\${next} is malformed` };
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff) return { reason: `the escape \\${next}${digits} is out of range` };
      value += String.fromCodePoint(cp);
      i += 1 + hex;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (octal) {
      value += String.fromCharCode(parseInt(octal[0], 8));
      i += octal[0].length;
      continue;
    }
    if (next === 'N') return { reason: 'named escapes (\\N{...}) are not supported; write the character itself' };
    value += `\\${next}`; // Python keeps unknown escapes as written
    i++;
  }
  return { value, type: 'str' };
}

/**
 * A value typed outside a notebook (`flowbook run -p`): `code` must be one Python literal
 * expression, read exactly as a `pipeline-parameters` value is.
 */
export function literalFrom(parsed: ParsedCode, code: string): Literal {
  if (parsed.problem) return { reason: syntaxMessage(parsed.problem) };
  const statements = parsed.root.children;
  const only = statements.length === 1 ? statements[0] : undefined;
  const expr = only?.type === 'expression_statement' && only.children.length === 1 ? only.children[0] : undefined;
  if (!expr) return { reason: 'write one value: a number, a string, True/False, None, or a list or dict of those' };
  return literal(expr, code, 0);
}

/** The statements of a parsed cell with an ERROR node reported once as a syntax problem. */
function statements(parsed: ParsedCode, cell: number, diagnostics: Diagnostic[]): PyNode[] {
  if (parsed.problem) {
    const p = parsed.problem;
    diagnostics.push(diag('FB202', syntaxMessage(p), { cell, line: p.line, column: p.column }));
  }
  return parsed.root.children.filter((s) => s.type !== 'ERROR');
}

/** Reads a `pipeline-parameters` cell. */
export function parametersFrom(parsed: ParsedCode, code: string, cell: number): { parameters: PipelineParameter[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const parameters: PipelineParameter[] = [];
  for (const stmt of statements(parsed, cell, diagnostics)) {
    const at = { cell, line: stmt.line, column: stmt.column };
    const assignment = stmt.type === 'expression_statement' && stmt.children.length === 1 ? stmt.children[0] : undefined;
    const left = assignment?.type === 'assignment' ? field(assignment, 'left') : undefined;
    const right = assignment?.type === 'assignment' ? field(assignment, 'right') : undefined;
    if (!assignment || !left || !right || left.type !== 'identifier' || right.type === 'assignment') {
      diagnostics.push(diag('FB400', `Line ${stmt.line} of the pipeline-parameters cell is not \`NAME = literal\`: found \`${snippet(code, stmt)}\`. ${capitalise(ALLOWED_PARAMETER)}.`, at));
      continue;
    }
    const name = code.slice(left.start, left.end);
    const value = literal(right, code, 0);
    if ('reason' in value) {
      diagnostics.push(diag('FB400', `Line ${stmt.line} of the pipeline-parameters cell: \`${name}\` cannot be a pipeline parameter: ${value.reason}. ${capitalise(ALLOWED_PARAMETER)}.`, at));
      continue;
    }
    const earlier = parameters.findIndex((p) => p.name === name);
    if (earlier >= 0) {
      const first = parameters[earlier] as PipelineParameter;
      diagnostics.push(diag('FB401', `Pipeline parameter \`${name}\` is defined twice in this cell (lines ${first.line} and ${stmt.line}); remove one of them.`, at));
      parameters.splice(earlier, 1); // as in the notebook, the last assignment wins
    }
    parameters.push({ name, type: value.type, default: value.value, literal: code.slice(right.start, right.end), cell, line: stmt.line });
  }
  return { parameters, diagnostics };
}

/** Reads a `pipeline-metrics` cell. */
export function metricsFrom(parsed: ParsedCode, code: string, cell: number): { names: NameRef[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const names: NameRef[] = [];
  for (const stmt of statements(parsed, cell, diagnostics)) {
    const expr = stmt.type === 'expression_statement' && stmt.children.length === 1 ? stmt.children[0] : undefined;
    let name: PyNode | undefined;
    if (expr?.type === 'identifier') name = expr;
    else if (expr?.type === 'call') {
      const fn = field(expr, 'function');
      const args = field(expr, 'arguments');
      const only = args?.type === 'argument_list' && args.children.length === 1 ? args.children[0] : undefined;
      if (fn?.type === 'identifier' && code.slice(fn.start, fn.end) === 'print' && only?.type === 'identifier') name = only;
    }
    if (!name) {
      diagnostics.push(diag('FB402', `Line ${stmt.line} of the pipeline-metrics cell is not \`print(name)\` or \`name\`: found \`${snippet(code, stmt)}\`. ${capitalise(ALLOWED_METRIC)}.`, { cell, line: stmt.line, column: stmt.column }));
      continue;
    }
    names.push({ name: code.slice(name.start, name.end), line: name.line, column: name.column });
  }
  return { names, diagnostics };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
