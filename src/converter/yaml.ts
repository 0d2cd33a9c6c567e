// Serialisation at the edge: objects → YAML that users commit, so the same object always
// gives the same bytes. Block style, keys in construction order, no line folding, multi-line
// strings (step scripts) as literal blocks, no anchors. YAML 1.1 rules decide quoting,
// because Kubernetes tools read YAML 1.1: `yes`, `on`, `0755` stay strings.
//
// The `yaml` library defines the output. A Workflow is plain data (objects, arrays, strings,
// integers, booleans, null), and the library takes most of the compile time for it, so
// `writeYaml` writes such data itself, byte for byte as the library would (the unit tests
// compare the two on generated values); for anything else it gives up and the library, loaded
// only then, writes the whole document.
//
// Characters YAML readers disagree on or refuse raw (C0/C1 controls, DEL, U+0085, U+2028,
// U+2029, the BOM, non-characters, lone surrogates) are always written as escapes inside
// double quotes: Go's reader (kubectl) takes U+2028 as a line break, PyYAML U+0085.

import type { ToStringOptions, DocumentOptions, SchemaOptions, CreateNodeOptions } from 'yaml';

const LIBRARY_OPTIONS: DocumentOptions & SchemaOptions & CreateNodeOptions & ToStringOptions = {
  version: '1.1',
  lineWidth: 0,
  minContentWidth: 0,
  blockQuote: 'literal',
  aliasDuplicateObjects: false,
  indentSeq: false,
  sortMapEntries: false,
};

export function toYaml(obj: unknown): string {
  return writeYaml(obj) ?? libraryYaml(obj);
}

/** The `yaml` library's serialisation with Flowbook's options (the reference for `writeYaml`). */
export function libraryYaml(obj: unknown): string {
  // Loaded on first use: most documents never need it, and it takes a while to load.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Document, visit } = require('yaml') as typeof import('yaml');
  const doc = new Document(obj, LIBRARY_OPTIONS);
  let quoted = false;
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && NEEDS_ESCAPES.test(node.value)) {
        node.type = 'QUOTE_DOUBLE';
        quoted = true;
      }
    },
  });
  const text = doc.toString(LIBRARY_OPTIONS);
  // Every string holding such a character is double-quoted now, where `\uXXXX` means the
  // character; the library leaves some of them raw there.
  return quoted ? text.replace(RAW_IN_QUOTES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
}

/** Thrown inside `writeYaml` when a value is outside what it writes exactly like the library. */
class Unsupported extends Error {}

const INDENT = '  ';
/** Deeper than this is not a Workflow (and may be a cycle): left to the library. */
const MAX_DEPTH = 100;
/** A key written longer than this becomes an explicit `? key` in the library. */
const MAX_KEY_LENGTH = 1024;

/**
 * Characters written only as escapes in double quotes: C0 controls but tab and newline, DEL,
 * C1 controls (U+0085 among them), U+2028, U+2029, the BOM, U+FFFE/U+FFFF, lone surrogates.
 * `writeYaml` leaves strings with them to `libraryYaml`, which escapes them.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_ESCAPES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|\p{Cs}/u;
/** The same characters but surrogates (the library escapes those itself), to replace in the library's double-quoted text. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW_IN_QUOTES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g;
/** A one-line string that cannot be a plain scalar: it starts with an indicator, or has `: `, ` #`, or a space or colon at the end. */
const NOT_PLAIN = /^[\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][\t ]|:[\t ]|[\t ]#|[\t :]$/;
/** Starts like a document marker, which the library treats specially depending on where the string sits. */
const DOCUMENT_MARKER = /^(?:%|---|\.\.\.)/m;
/** Plain scalars that YAML 1.1 reads as something other than a string: null, booleans, numbers, timestamps. */
const YAML11_NON_STRING = new RegExp(`^(?:${[
  '~|[Nn]ull|NULL|',
  '[Yy]|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON|[Nn]|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF',
  '[-+]?(?:0b[01_]+|[0-9][0-9_]*|0x[0-9a-fA-F_]+)',
  '[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)',
  '[-+]?(?:[0-9][0-9_]*)?(?:\\.[0-9_]*)?[eE][-+]?[0-9]+',
  '[-+]?(?:[0-9][0-9_]*)?\\.[0-9_]*',
  '[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\\.[0-9_]*)?',
  '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[\\t ]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\\.[0-9]+)?(?:[\\t ]*(?:Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?',
].join('|')})$`);

/**
 * `obj` as YAML, byte for byte what `libraryYaml` gives, or undefined when `obj` holds
 * something this writer leaves to the library: a root that is not a non-empty plain object,
 * numbers other than safe integers, `undefined` in arrays, class instances, control
 * characters, keys that are multi-line or very long, and a few rare string shapes.
 */
export function writeYaml(obj: unknown): string | undefined {
  if (!isPlainObject(obj) || !hasEntries(obj)) return undefined;
  const out: string[] = [];
  blocks = new Map();
  try {
    writeMap(obj, '', out, 0);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  } finally {
    blocks = undefined;
  }
  out.push('\n');
  return out.join('');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** Whether the map has a pair to write (the library drops keys whose value is undefined). */
function hasEntries(obj: Record<string, unknown>): boolean {
  for (const key in obj) if (Object.hasOwn(obj, key) && obj[key] !== undefined) return true;
  return false;
}

/** The pairs of a non-empty map whose pairs sit at `indent`; the first line's indentation is already written. */
function writeMap(obj: Record<string, unknown>, indent: string, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Unsupported();
  const inner = indent + INDENT;
  let first = true;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue;
    if (!first) out.push('\n', indent);
    first = false;
    const k = keyText(key);
    out.push(k, ':');
    if (Array.isArray(value)) {
      if (value.length === 0) {
        out.push(' []');
      } else {
        // indentSeq: false: a sequence under a key starts at the key's column.
        out.push('\n', indent);
        writeSeq(value, indent, out, depth + 1);
      }
    } else if (isPlainObject(value)) {
      if (hasEntries(value)) {
        out.push('\n', inner);
        writeMap(value, inner, out, depth + 1);
      } else {
        out.push(' {}');
      }
    } else {
      out.push(' ', scalarText(value, inner));
    }
  }
}

/** The items of a non-empty sequence whose `- ` sit at `indent`; the first line's indentation is already written. */
function writeSeq(items: unknown[], indent: string, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Unsupported();
  const inner = indent + INDENT;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push('\n', indent);
    out.push('- ');
    const item = items[i];
    if (Array.isArray(item)) {
      if (item.length === 0) out.push('[]');
      else writeSeq(item, inner, out, depth + 1);
    } else if (isPlainObject(item)) {
      if (hasEntries(item)) writeMap(item, inner, out, depth + 1);
      else out.push('{}');
    } else {
      out.push(scalarText(item, inner));
    }
  }
}

function keyText(key: string): string {
  if (key.includes('\n') || key === '<<') throw new Unsupported();
  const text = oneLineText(key);
  if (text.length > MAX_KEY_LENGTH) throw new Unsupported();
  return text;
}

/** A scalar whose block lines (if any) are indented by `indent`. */
function scalarText(value: unknown, indent: string): string {
  switch (typeof value) {
    case 'string':
      if (value.includes('\n')) return blockText(value, indent);
      if (value === '<<') throw new Unsupported();
      return oneLineText(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Unsupported();
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      throw new Unsupported();
    default:
      throw new Unsupported();
  }
}

/** A one-line string: plain when YAML reads it back as this string, else quoted. */
function oneLineText(s: string): string {
  if (NEEDS_ESCAPES.test(s) || DOCUMENT_MARKER.test(s)) throw new Unsupported();
  if (!NOT_PLAIN.test(s) && !YAML11_NON_STRING.test(s)) return s;
  // Single quotes only when that avoids escaping a double quote.
  if (s.includes('"') && !s.includes("'")) return `'${s}'`;
  return JSON.stringify(s);
}

/**
 * Literal blocks already written in this document, by string and indentation: a document
 * may repeat one long string (the KFP adapter is in every executor's command).
 */
let blocks: Map<string, { indent: string; text: string }> | undefined;

/** A multi-line string as a literal block: `|` (one final newline kept) or `|-` (none). */
function blockText(s: string, indent: string): string {
  const seen = blocks?.get(s);
  if (seen?.indent === indent) return seen.text;
  const text = blockTextOf(s, indent);
  blocks?.set(s, { indent, text });
  return text;
}

function blockTextOf(s: string, indent: string): string {
  if (NEEDS_ESCAPES.test(s)) throw new Unsupported();
  // Leading spaces or blank lines need an indentation indicator, and a tail of blank or
  // whitespace-only lines a keep indicator or quotes: left to the library. What remains
  // ends either without a newline in its trailing whitespace, or with exactly one newline.
  const firstChar = s.charCodeAt(0);
  if (firstChar === 32 || firstChar === 10) throw new Unsupported();
  let tail = s.length;
  for (let c = s.charCodeAt(tail - 1); c === 10 || c === 9 || c === 32; c = s.charCodeAt(tail - 1)) tail--;
  const newline = s.indexOf('\n', tail);
  if (tail === 0 || (newline >= 0 && newline !== s.length - 1)) throw new Unsupported();
  const body = newline < 0 ? s : s.slice(0, -1);
  return `|${newline < 0 ? '-' : ''}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
}
