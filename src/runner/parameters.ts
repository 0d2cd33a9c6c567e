// `-p NAME=VALUE` overrides: parsed and checked against the pipeline parameter's type
// before anything runs, and encoded the way workflow parameters carry them (JSON text
// that the step script decodes). Values are read as users type them on a command line:
// strings need no quotes, lists and dicts may be written as JSON or as Python literals.

import type { JsonValue, ParameterType, PipelineParameter } from '../converter/ir';
import { PythonAnalyzer } from '../converter/python';
import { setOwn } from '../common/json';

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
export async function parseParameterArgs(args: readonly string[], parameters: readonly PipelineParameter[]): Promise<ParsedParameters> {
  // No arguments, nothing to read: the grammar (which a bundle must be told where to find) is not loaded.
  if (args.length === 0) return { values: {}, problems: [] };
  const python = await PythonAnalyzer.create();
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
    const parsed = parseValue(text, param.type, python);
    if ('error' in parsed) {
      problems.push({ name, message: `-p ${name}=${text}: ${parsed.error} (parameter '${name}' is ${article(param.type)}, default ${param.literal}, in cell ${param.cell + 1})` });
    } else {
      setOwn(values, name, parsed.value);
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
export function parseValue(text: string, type: ParameterType, python: PythonAnalyzer): { value: JsonValue } | { error: string } {
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
      const parsed = parseLiteral(t, python);
      if ('error' in parsed) return { error: `'${text}' is not a ${type} literal (${parsed.error})` };
      const isList = Array.isArray(parsed.value);
      const isDict = parsed.value !== null && typeof parsed.value === 'object' && !isList;
      if (type === 'list' ? !isList : !isDict) return { error: `'${text}' is not a ${type}; write it like ${type === 'list' ? '[1, 2]' : '{"a": 1}'}` };
      return parsed;
    }
    case 'NoneType': {
      // The default says nothing about the type: take a literal when it reads as one, else the text.
      if (/^(none|null)$/i.test(t)) return { value: null };
      const parsed = parseLiteral(t, python);
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

/**
 * Reads a list, dict or other literal typed on the command line, as the notebook's own
 * `pipeline-parameters` values are read (the analysis's literal reader: Python escapes,
 * `__proto__` kept as a key, out-of-range numbers and non-string keys refused). JSON's
 * `true`/`false`/`null` are read too, with the same checks.
 */
export function parseLiteral(text: string, python: PythonAnalyzer): { value: JsonValue } | { error: string } {
  const read = python.readLiteral(text);
  if (!('reason' in read)) return { value: read.value };
  if (/\b(?:true|false|null)\b/.test(text)) {
    try {
      const value = JSON.parse(text) as JsonValue;
      const lossy = inexactNumber(value);
      return lossy === undefined ? { value } : { error: `${lossy} cannot be passed exactly` };
    } catch {
      // Not JSON either: the Python reader's reason says more.
    }
  }
  return { error: read.reason };
}

/** The first number JSON.parse could not keep exactly (out of range, or an integer beyond 2^53). */
function inexactNumber(value: JsonValue): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)) ? undefined : String(value);
  if (value === null || typeof value !== 'object') return undefined;
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    const bad = inexactNumber(item);
    if (bad !== undefined) return bad;
  }
  return undefined;
}
