// What the emitter, the local runner, the cluster code and the simulator all need to know
// about a running Argo DAG, in one place: which tasks a task waits for, and the node ids and
// pod names the Argo controller gives its nodes.

/** The task names a DAG task waits for: `dependencies`, or the task names in an enhanced `depends` expression (`a && (b.Succeeded || c)`). */
export function taskDependencies(task: { readonly dependencies?: readonly string[]; readonly depends?: string }): string[] {
  if (task.dependencies) return [...task.dependencies];
  if (!task.depends) return [];
  const names = new Set<string>();
  for (const m of task.depends.matchAll(/([A-Za-z0-9][A-Za-z0-9-]*)(?:\.[A-Za-z]+)?/g)) names.add(m[1] ?? '');
  return [...names];
}

/** Argo's node id for a node name: the workflow name for the root, else `<workflow>-<fnv-32a of the node name>`, as the controller computes it. */
export function argoNodeId(workflow: string, nodeName: string): string {
  if (nodeName === workflow) return workflow;
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(nodeName, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${workflow}-${h}`;
}

/**
 * The pod Argo runs a node in. Pod name format v2 (the default): `<workflow>-<template>-<hash
 * of the node id>`, the prefix cut at 243 characters; v1: the node id itself.
 */
export function argoPodName(workflow: string, templateName: string | undefined, nodeId: string, format: 'v1' | 'v2' = 'v2'): string {
  if (format === 'v1' || nodeId === workflow) return nodeId;
  const hash = nodeId.slice(nodeId.lastIndexOf('-') + 1);
  let prefix = templateName ? `${workflow}-${templateName}` : workflow;
  if (prefix.length > 243) prefix = prefix.slice(0, 243);
  return `${prefix}-${hash}`;
}
