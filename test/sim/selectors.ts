// SIMULATED CLUSTER (tests only): Kubernetes label and field selector matching, the subset
// of the real grammar Flowbook and kubectl use (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
// `a notin (x)`, `a`, `!a`; field selectors on metadata.name/namespace).

type Requirement = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {}

export function parseLabelSelector(selector: string | null | undefined): Requirement {
  if (!selector) return () => true;
  const parts = splitTopLevel(selector);
  const reqs: Requirement[] = parts.map((raw) => {
    const part = raw.trim();
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const key = m[1] ?? '';
      const values = new Set((m[3] ?? '').split(',').map((v) => v.trim()));
      return m[2] === 'in' ? (l) => l[key] !== undefined && values.has(l[key] ?? '') : (l) => l[key] === undefined || !values.has(l[key] ?? '');
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part);
    if (m) {
      const key = m[1] ?? '';
      const value = m[3] ?? '';
      return m[2] === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m) {
      const key = m[2] ?? '';
      return m[1] === '!' ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
    }
    throw new SelectorError(`unable to parse requirement: ${part}`);
  });
  return (labels) => reqs.every((r) => r(labels));
}

function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') parts.push(current);
  return parts;
}

export function parseFieldSelector(selector: string | null | undefined): (obj: { metadata: { name?: string; namespace?: string } }) => boolean {
  if (!selector) return () => true;
  const reqs = selector.split(',').map((part) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw new SelectorError(`invalid field selector: ${part}`);
    const field = m[1];
    const value = m[3] ?? '';
    const get = (o: { metadata: { name?: string; namespace?: string } }) =>
      field === 'metadata.name' ? o.metadata.name : field === 'metadata.namespace' ? o.metadata.namespace : undefined;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') throw new SelectorError(`field label not supported: ${field}`);
    return m[2] === '!=' ? (o: { metadata: { name?: string; namespace?: string } }) => get(o) !== value : (o: { metadata: { name?: string; namespace?: string } }) => get(o) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}
