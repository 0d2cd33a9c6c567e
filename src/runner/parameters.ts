// `-p NAME=VALUE` overrides: parsed and checked against the pipeline parameter's type
// before anything runs, and encoded the way workflow parameters carry them (JSON text
// that the step script decodes). Values are read as users type them on a command line:
// strings need no quotes, lists and dicts may be written as JSON or as Python literals.

import type { JsonValue, ParameterType, PipelineParameter } from '../converter/ir';

export interface ParameterProblem {
  /** The parameter (or the whole argument, when it has no `=`). */
  name: string;
  message: string;
}

export interface ParsedParameters {
  values: Record<string, JsonValue>;
  problems: ParameterProblem[];
}

/** Parses `NAME=VALUE` arguments against the pipeline's parameters. */
export function parseParameterArgs(args: readonly string[], parameters: readonly PipelineParameter[]): ParsedParameters {
  const byName = new Map(parameters.map((p) => [p.name, p]));
  const values: Record<string, JsonValue> = {};
  const problems: ParameterProblem[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      problems.push({ name: arg, message: `-p ${arg}: write it as NAME=VALUE, for example -p ${parameters[0]?.name ?? 'learning_rate'}=${parameters[0]?.literal ?? '0.1'}` });
      continue;
    }
    const name = arg.slice(0, eq).trim();
    const text = arg.slice(eq + 1);
    const param = byName.get(name);
    if (!param) {
      const known = parameters.map((p) => p.name);
      problems.push({
        name,
        message: known.length === 0
          ? `-p ${name}: the notebook has no pipeline parameters (tag a cell \`pipeline-parameters\` to declare them)`
          : `-p ${name}: the notebook has no parameter '${name}'; its parameters are ${known.join(', ')}`,
      });
      continue;
    }
    const parsed = parseValue(text, param.type);
    if ('error' in parsed) {
      problems.push({ name, message: `-p ${name}=${text}: ${parsed.error} (parameter '${name}' is ${article(param.type)}, default ${param.literal}, in cell ${param.cell + 1})` });
    } else {
      values[name] = parsed.value;
    }
  }
  return { values, problems };
}

function article(type: ParameterType): string {
  switch (type) {
    case 'int': return 'an int';
    case 'float': return 'a float';
    case 'str': return 'a str';
    case 'bool': return 'a bool';
    case 'NoneType': return 'None by default';
    case 'list': return 'a list';
    case 'dict': return 'a dict';
  }
}

/** Reads one value typed on the command line as a value of `type`. */
export function parseValue(text: string, type: ParameterType): { value: JsonValue } | { error: string } {
  const t = text.trim();
  switch (type) {
    case 'str':
      return { value: text };
    case 'int': {
      if (!/^[+-]?\d+$/.test(t)) return { error: `'${text}' is not a whole number` };
      const n = Number(t);
      return Number.isSafeInteger(n) ? { value: n } : { error: `${t} is too large for a whole number here` };
    }
    case 'float': {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return { error: `'${text}' is not a number` };
      const n = Number(t);
      return Number.isFinite(n) ? { value: n } : { error: `${t} is out of range` };
    }
    case 'bool': {
      const v = t.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(v)) return { value: false };
      return { error: `'${text}' is not true or false` };
    }
    case 'list':
    case 'dict': {
      const parsed = parseLiteral(t);
      if ('error' in parsed) return { error: `'${text}' is not a ${type} literal (${parsed.error})` };
      const isList = Array.isArray(parsed.value);
      const isDict = parsed.value !== null && typeof parsed.value === 'object' && !isList;
      if (type === 'list' ? !isList : !isDict) return { error: `'${text}' is not a ${type}; write it like ${type === 'list' ? '[1, 2]' : '{"a": 1}'}` };
      return parsed;
    }
    case 'NoneType': {
      // The default says nothing about the type: take a literal when it reads as one, else the text.
      if (/^(none|null)$/i.test(t)) return { value: null };
      const parsed = parseLiteral(t);
      return 'error' in parsed ? { value: text } : parsed;
    }
  }
}

/**
 * JSON text for a parameter value, as the step script will `json.loads` it. A float that
 * happens to be whole keeps its decimal point, so Python reads `1.0`, not the int `1`.
 */
export function encodeParameter(value: JsonValue, type: ParameterType | undefined): string {
  if (type === 'float' && typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(1);
  return JSON.stringify(value);
}

/** Parses a JSON or Python literal: numbers, strings, True/False/None, lists, tuples, dicts. */
export function parseLiteral(text: string): { value: JsonValue } | { error: string } {
  let pos = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} at character ${pos + 1}`);
  };
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos] ?? '')) pos++;
  };
  const value = (): JsonValue => {
    ws();
    const c = text[pos];
    if (c === '[' || c === '(') return sequence(c === '[' ? ']' : ')');
    if (c === '{') return dict();
    if (c === '"' || c === "'") return str();
    const word = /^(True|False|None|true|false|null)\b/.exec(text.slice(pos));
    if (word?.[1]) {
      pos += word[1].length;
      return word[1] === 'True' || word[1] === 'true' ? true : word[1] === 'False' || word[1] === 'false' ? false : null;
    }
    const num = /^[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (num) {
      pos += num[0].length;
      return Number(num[0].replace(/_/g, ''));
    }
    return fail(c === undefined ? 'unexpected end' : `unexpected '${c}'`);
  };
  const sequence = (close: string): JsonValue[] => {
    pos++;
    const items: JsonValue[] = [];
    ws();
    while (text[pos] !== close) {
      items.push(value());
      ws();
      if (text[pos] === ',') {
        pos++;
        ws();
      } else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
    return items;
  };
  const dict = (): { [key: string]: JsonValue } => {
    pos++;
    const out: { [key: string]: JsonValue } = {};
    ws();
    while (text[pos] !== '}') {
      const key = value();
      if (typeof key !== 'string' && typeof key !== 'number') fail('dict keys must be strings or numbers');
      ws();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      out[String(key)] = value();
      ws();
      if (text[pos] === ',') {
        pos++;
        ws();
      } else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
    pos++;
    return out;
  };
  const str = (): string => {
    const quote = text[pos];
    pos++;
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        pos++;
        const e = text[pos] ?? '';
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '/': '/', b: '\b', f: '\f' };
        if (e === 'u') {
          out += String.fromCharCode(parseInt(text.slice(pos + 1, pos + 5), 16));
          pos += 5;
          continue;
        }
        out += simple[e] ?? `\\${e}`;
        pos++;
        continue;
      }
      out += text[pos];
      pos++;
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return out;
  };
  try {
    const v = value();
    ws();
    if (pos < text.length) fail(`unexpected '${text[pos]}'`);
    return { value: v };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
