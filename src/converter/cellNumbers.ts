// Cells have two numbers: the 0-based index that JSON and annotations carry (`cell`, `cells`,
// `flowbook.dev/cells`), and the 1-based number people see in the editor and in messages
// ("cell 7"). JSON written for tools and people alike carries both, side by side.

import type { JsonValue } from './ir';

/**
 * A copy of `value` in which every object with a 0-based `cell` index gets `cellNumber`
 * (index + 1) right after it, and every `cells` list of indices gets `cellNumbers`. Key order
 * is otherwise kept; the user's values (parameter defaults and values, metrics, options) are
 * left as they are.
 */
export function withCellNumbers<T>(value: T): T {
  return add(value as unknown as JsonValue, 0) as unknown as T;
}

const MAX_DEPTH = 64;
/** Keys whose object values are the user's data (parameter values, metrics, options), never walked into. */
const DATA_KEYS = new Set(['default', 'value', 'values', 'parameters', 'metrics', 'options']);

function add(value: JsonValue, depth: number): JsonValue {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => add(v, depth + 1));
  const out: { [key: string]: JsonValue } = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[key] = DATA_KEYS.has(key) && !Array.isArray(v) ? v : add(v, depth + 1);
    if (key === 'cell' && typeof v === 'number' && v >= 0 && !('cellNumber' in value)) out['cellNumber'] = v + 1;
    if (key === 'cells' && Array.isArray(v) && v.every((c) => typeof c === 'number') && !('cellNumbers' in value)) out['cellNumbers'] = v.map((c) => (c as number) + 1);
  }
  return out;
}
