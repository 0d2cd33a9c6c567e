// SIMULATED CLUSTER (tests only): the two patch formats the simulated API server accepts,
// JSON merge patch (RFC 7386) and JSON patch (RFC 6902: add, replace, remove, test).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class PatchError extends Error {}

interface Op {
  op: string;
  path: string;
  value?: unknown;
}

function decode(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array');
  const doc = structuredClone(target) as unknown;
  let root: unknown = doc;
  for (const raw of ops as Op[]) {
    const tokens = raw.path.split('/').slice(1).map(decode);
    if (tokens.length === 0) {
      if (raw.op === 'replace' || raw.op === 'add') root = structuredClone(raw.value);
      continue;
    }
    let parent: unknown = root;
    for (const t of tokens.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object') throw new PatchError(`path ${raw.path} does not exist`);
      parent = (parent as Record<string, unknown>)[t];
    }
    if (parent === null || typeof parent !== 'object') throw new PatchError(`path ${raw.path} does not exist`);
    const last = tokens[tokens.length - 1] ?? '';
    const container = parent as Record<string, unknown>;
    switch (raw.op) {
      case 'add':
        if (Array.isArray(container)) (container as unknown[]).splice(last === '-' ? container.length : Number(last), 0, structuredClone(raw.value));
        else container[last] = structuredClone(raw.value);
        break;
      case 'replace':
        if (!(last in container)) throw new PatchError(`path ${raw.path} does not exist`);
        container[last] = structuredClone(raw.value);
        break;
      case 'remove':
        if (!(last in container)) throw new PatchError(`path ${raw.path} does not exist`);
        if (Array.isArray(container)) (container as unknown[]).splice(Number(last), 1);
        else delete container[last];
        break;
      case 'test':
        if (JSON.stringify(container[last]) !== JSON.stringify(raw.value)) throw new PatchError(`test failed at ${raw.path}`);
        break;
      default:
        throw new PatchError(`unsupported op ${raw.op}`);
    }
  }
  return root;
}
