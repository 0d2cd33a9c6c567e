// SIMULATED CLUSTER (tests only): a stand-in for Argo's workflow-controller. It drives
// Workflows in the simulated store the way Argo does, as far as Flowbook can observe: phase
// Pending → Running → Succeeded/Failed, `status.nodes` with Argo's node ids (fnv-32a of
// the node name) and node types (DAG, Pod, Retry, Skipped), one pod per step named like
// Argo's v2 pod names, pods that write log lines over time, retries, `spec.shutdown`,
// podGC, archived logs, and workflows resumed by `argo retry`-style status resets or
// memoized resubmits. What a step does comes from `behaviour` or from `# sim:` comments
// in its script (`# sim:fail`, `# sim:fail-attempts=1`, `# sim:lines=500`, `# sim:hang`).

import { argoNodeId, argoPodName, taskDependencies } from '../../src/argo/dag';
import type { KubeObject, NodeStatus, Workflow, WorkflowTemplate } from '../../src/cluster/types';
import type { SimulatedCluster } from './simulatedCluster';

export interface StepRun {
  workflow: Workflow;
  task: string;
  template: WorkflowTemplate;
  attempt: number;
}

export interface StepBehaviour {
  lines: string[];
  exitCode: number;
  /** Never finishes on its own (until stopped or terminated). */
  hang?: boolean;
}

export interface ArtifactRepository {
  endpoint: string;
  bucket: string;
  accessKeySecret: { name: string; key: string };
  secretKeySecret: { name: string; key: string };
  archiveLogs: boolean;
  insecure?: boolean;
}

export interface ArgoControllerOptions {
  tickMs?: number;
  linesPerTick?: number;
  behaviour?: (run: StepRun) => StepBehaviour;
  artifactRepository?: ArtifactRepository;
  /** Where archived logs are put (the simulated S3). */
  putObject?: (bucket: string, key: string, body: string) => void;
}

const WF = 'argoproj.io/workflows';
const PODS = '/pods';

interface PodRun {
  namespace: string;
  pod: string;
  workflow: string;
  lines: string[];
  exitCode: number;
  hang: boolean;
  ticksPending: number;
}

function defaultBehaviour(run: StepRun): StepBehaviour {
  const source = run.template.script?.source ?? '';
  const params = Object.fromEntries((run.workflow.spec.arguments?.parameters ?? []).map((p) => [p.name, p.value ?? p.default ?? '']));
  let count = 3;
  const lines = /#\s*sim:lines=(\d+)/.exec(source);
  if (lines) count = Number(lines[1]);
  const out = [`step ${run.task} attempt ${run.attempt} params ${JSON.stringify(params)}`];
  for (let i = 1; i < count; i++) out.push(`step ${run.task} line ${i}`);
  let exitCode = 0;
  if (/#\s*sim:fail\b(?!-)/.test(source)) exitCode = 1;
  const failAttempts = /#\s*sim:fail-attempts=(\d+)/.exec(source);
  if (failAttempts && run.attempt < Number(failAttempts[1])) exitCode = 1;
  if (exitCode !== 0) out.push(`Traceback (most recent call last):\nValueError: step ${run.task} failed`);
  return { lines: out, exitCode, hang: /#\s*sim:hang/.test(source) };
}

export class ArgoController {
  private readonly timer: NodeJS.Timeout;
  private readonly pods = new Map<string, PodRun>();
  private readonly tickMs: number;
  private readonly linesPerTick: number;
  paused = false;
  behaviour: (run: StepRun) => StepBehaviour;
  artifactRepository?: ArtifactRepository;
  putObject?: (bucket: string, key: string, body: string) => void;

  constructor(
    private readonly sim: SimulatedCluster,
    options: ArgoControllerOptions,
  ) {
    this.tickMs = options.tickMs ?? 15;
    this.linesPerTick = options.linesPerTick ?? 2;
    this.behaviour = options.behaviour ?? defaultBehaviour;
    if (options.artifactRepository) this.artifactRepository = options.artifactRepository;
    if (options.putObject) this.putObject = options.putObject;
    this.timer = setInterval(() => {
      if (!this.paused) this.tick();
    }, this.tickMs);
    // Pods of a deleted workflow go with it (ownerReferences garbage collection).
    sim.store.subscribe((e) => {
      if (e.resource === WF && e.type === 'DELETED') {
        for (const pod of sim.store.list(PODS, e.object.metadata.namespace)) {
          if (pod.metadata.labels?.['workflows.argoproj.io/workflow'] === e.object.metadata.name) this.deletePod(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
        }
      }
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One controller pass: advance pods, then reconcile every unfinished workflow. */
  tick(): void {
    for (const run of [...this.pods.values()]) this.advancePod(run);
    for (const wf of this.sim.store.list(WF)) {
      const phase = (wf as Workflow).status?.phase;
      if (!phase || phase === 'Pending' || phase === 'Running') this.reconcile(wf.metadata.namespace ?? '', wf.metadata.name ?? '');
    }
  }

  private deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
    try {
      this.sim.store.delete(PODS, namespace, name);
    } catch {
      // already gone
    }
  }

  private advancePod(run: PodRun): void {
    const pod = this.sim.store.get(PODS, run.namespace, run.pod);
    if (!pod) {
      this.pods.delete(`${run.namespace}/${run.pod}`);
      return;
    }
    const phase = (pod.status as { phase?: string }).phase;
    if (phase === 'Pending') {
      if (run.ticksPending-- > 0) return;
      this.setPodState(run, 'Running', { running: { startedAt: new Date().toISOString() } });
      return;
    }
    if (phase !== 'Running') return;
    for (let i = 0; i < this.linesPerTick && run.lines.length > 0; i++) this.sim.appendLog(run.namespace, run.pod, run.lines.shift() ?? '');
    if (run.lines.length === 0 && !run.hang) this.finishPod(run, run.exitCode);
  }

  private finishPod(run: PodRun, exitCode: number, reason?: string): void {
    this.sim.endLog(run.namespace, run.pod);
    this.setPodState(run, exitCode === 0 ? 'Succeeded' : 'Failed', {
      terminated: { exitCode, reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'), finishedAt: new Date().toISOString() },
    });
    this.pods.delete(`${run.namespace}/${run.pod}`);
  }

  private setPodState(run: PodRun, phase: string, state: object): void {
    this.sim.store.mutate(PODS, run.namespace, run.pod, (pod) => {
      pod.status = { phase, containerStatuses: [{ name: 'main', ready: phase === 'Running', state }] };
    });
  }

  private startPod(wf: Workflow, nodeId: string, nodeName: string, template: WorkflowTemplate, task: string, attempt: number): string {
    const ns = wf.metadata.namespace ?? '';
    const wfName = wf.metadata.name ?? '';
    const pod = argoPodName(wfName, template.name, nodeId);
    // Like Argo, an existing pod with the node's name is adopted, not replaced: a retry
    // that forgets to delete the failed pod sees the old failure again.
    if (this.sim.store.get(PODS, ns, pod)) return pod;
    const behaviour = this.behaviour({ workflow: wf, task, template, attempt });
    const object: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod,
        namespace: ns,
        labels: { 'workflows.argoproj.io/workflow': wfName, 'workflows.argoproj.io/completed': 'false' },
        annotations: { 'workflows.argoproj.io/node-id': nodeId, 'workflows.argoproj.io/node-name': nodeName },
        ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', name: wfName, uid: wf.metadata.uid }],
      },
      spec: { containers: [{ name: 'wait', image: 'argoproj/argoexec' }, { name: 'main', image: template.script?.image ?? template.container?.image ?? 'python' }] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'main', ready: false, state: { waiting: { reason: 'ContainerCreating' } } }] },
    };
    this.sim.store.create(PODS, object);
    this.pods.set(`${ns}/${pod}`, { namespace: ns, pod, workflow: wfName, lines: [...behaviour.lines], exitCode: behaviour.exitCode, hang: behaviour.hang === true, ticksPending: 1 });
    return pod;
  }

  private podPhase(ns: string, pod: string): { phase: string; exitCode?: number } | undefined {
    const obj = this.sim.store.get(PODS, ns, pod);
    if (!obj) return undefined;
    const status = obj.status as { phase?: string; containerStatuses?: { state?: { terminated?: { exitCode?: number } } }[] };
    const exitCode = status.containerStatuses?.[0]?.state?.terminated?.exitCode;
    return exitCode === undefined ? { phase: status.phase ?? 'Pending' } : { phase: status.phase ?? 'Pending', exitCode };
  }

  private reconcile(ns: string, name: string): void {
    const current = this.sim.store.get(WF, ns, name) as Workflow | undefined;
    if (!current) return;
    const wf = structuredClone(current);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = (wf.status ??= {});
    const nodes = (status.nodes ??= {});
    const templates = new Map((wf.spec.templates ?? []).map((t) => [t.name, t]));
    const entry = templates.get(wf.spec.entrypoint ?? '');
    if (!status.phase || status.phase === 'Pending') {
      status.phase = 'Running';
      status.startedAt ??= now;
      delete status.finishedAt;
    }
    if (!entry) {
      status.phase = 'Error';
      status.message = `spec.entrypoint '${wf.spec.entrypoint}' not found`;
      status.finishedAt = now;
      this.save(current, wf);
      return;
    }
    const shutdown = wf.spec.shutdown;
    const tasks = entry.dag ? entry.dag.tasks : [{ name: '', template: entry.name }];
    const rootType = entry.dag ? 'DAG' : 'Pod';
    if (rootType === 'DAG') {
      const root = (nodes[name] ??= { id: name, name, displayName: name, type: 'DAG', templateName: entry.name, phase: 'Running', startedAt: now, children: [] });
      if (root.phase !== 'Running') root.phase = 'Running';
    }
    const state = new Map<string, 'done' | 'failed' | 'running' | 'waiting'>();
    const nodeOfTask = (task: string) => (task === '' ? name : `${name}.${task}`);
    let changed = false;
    // Repeat until nothing new starts (a task may start as soon as its dependencies are done).
    for (let pass = 0; pass < tasks.length + 1; pass++) {
      let progressed = false;
      for (const task of tasks) {
        if (state.has(task.name) && state.get(task.name) !== 'waiting') continue;
        const template = templates.get(task.template ?? '');
        if (!template) continue;
        const nodeName = nodeOfTask(task.name);
        const id = argoNodeId(name, nodeName);
        const retries = template.retryStrategy?.limit === undefined ? 0 : Number(template.retryStrategy.limit);
        const node = nodes[id];
        if (node) {
          const s = this.updateTaskNode(wf, node, template, task.name, retries, shutdown, now);
          if (s.changed) changed = true;
          state.set(task.name, s.state);
          continue;
        }
        const deps = taskDependencies(task);
        const depStates = deps.map((d) => state.get(d));
        if (depStates.some((s) => s === 'failed')) {
          state.set(task.name, 'failed');
          continue;
        }
        if (shutdown || depStates.some((s) => s !== 'done')) {
          state.set(task.name, 'waiting');
          continue;
        }
        // Start the task.
        const base: NodeStatus = { id, name: nodeName, displayName: task.name || name, templateName: template.name, phase: 'Running', startedAt: now };
        if (rootType === 'DAG') base.boundaryID = name;
        if (retries > 0) {
          nodes[id] = { ...base, type: 'Retry', children: [] };
          this.startAttempt(wf, nodes[id], template, task.name, 0, now);
        } else {
          this.startPod(wf, id, nodeName, template, task.name, 0);
          nodes[id] = { ...base, type: 'Pod', phase: 'Pending' };
        }
        if (rootType === 'DAG') {
          const root = nodes[name];
          if (root && !(root.children ?? []).includes(id)) root.children = [...(root.children ?? []), id];
        }
        state.set(task.name, 'running');
        changed = true;
        progressed = true;
      }
      if (!progressed) break;
    }
    // Drop children that no longer exist (a retry removed them).
    const root = nodes[name];
    if (root && rootType === 'DAG') root.children = (root.children ?? []).filter((c) => nodes[c] !== undefined);

    const states = tasks.map((t) => state.get(t.name) ?? 'waiting');
    const podNodes = Object.values(nodes).filter((n) => n.type === 'Pod' || n.type === 'Skipped');
    status.progress = `${podNodes.filter((n) => n.phase === 'Succeeded' || n.phase === 'Skipped').length}/${Math.max(podNodes.length, 1)}`;
    const running = states.some((s) => s === 'running');
    if (!running) {
      let phase: string | undefined;
      let message: string | undefined;
      if (states.every((s) => s === 'done')) phase = 'Succeeded';
      else if (shutdown) {
        phase = 'Failed';
        message = `Stopped with strategy '${shutdown}'`;
      } else if (states.some((s) => s === 'failed')) {
        phase = 'Failed';
        const failed = Object.values(nodes).find((n) => (n.phase === 'Failed' || n.phase === 'Error') && n.type !== 'DAG');
        message = failed ? `child '${failed.id}' failed` : 'failed';
      }
      if (phase) {
        status.phase = phase;
        if (message) status.message = message;
        status.finishedAt = now;
        if (root && rootType === 'DAG') {
          root.phase = phase;
          root.finishedAt = now;
        }
        wf.metadata.labels = { ...(wf.metadata.labels ?? {}), 'workflows.argoproj.io/phase': phase, 'workflows.argoproj.io/completed': 'true' };
        const gc = wf.spec.podGC?.strategy;
        if (gc === 'OnWorkflowCompletion' || (gc === 'OnWorkflowSuccess' && phase === 'Succeeded')) {
          for (const pod of this.sim.store.list(PODS, ns)) if (pod.metadata.labels?.['workflows.argoproj.io/workflow'] === name) this.deletePod(ns, pod.metadata.name ?? '');
        }
        changed = true;
      }
    }
    if (changed || JSON.stringify(wf.status) !== JSON.stringify(current.status)) this.save(current, wf);
  }

  private save(current: Workflow, next: Workflow): void {
    next.metadata.labels = { ...(next.metadata.labels ?? {}), 'workflows.argoproj.io/phase': next.status?.phase ?? 'Running' };
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    try {
      this.sim.store.update(WF, next);
    } catch {
      // Conflict with a client write: the next tick reconciles again, like the real controller.
    }
  }

  private startAttempt(wf: Workflow, retryNode: NodeStatus, template: WorkflowTemplate, task: string, attempt: number, now: string): void {
    const name = wf.metadata.name ?? '';
    const nodeName = `${retryNode.name}(${attempt})`;
    const id = argoNodeId(name, nodeName);
    this.startPod(wf, id, nodeName, template, task, attempt);
    const nodes = wf.status?.nodes ?? {};
    nodes[id] = { id, name: nodeName, displayName: `${task}(${attempt})`, type: 'Pod', templateName: template.name, phase: 'Pending', startedAt: now, boundaryID: retryNode.boundaryID ?? name };
    retryNode.children = [...(retryNode.children ?? []), id];
  }

  /** Updates one task's node from its pod(s); says where the task stands. */
  private updateTaskNode(wf: Workflow, node: NodeStatus, template: WorkflowTemplate, task: string, retries: number, shutdown: string | undefined, now: string): { state: 'done' | 'failed' | 'running' | 'waiting'; changed: boolean } {
    const nodes = wf.status?.nodes ?? {};
    if (node.phase === 'Succeeded' || node.phase === 'Skipped') return { state: 'done', changed: false };
    if (node.phase === 'Failed' || node.phase === 'Error' || node.phase === 'Omitted') return { state: 'failed', changed: false };
    const before = JSON.stringify(node);
    if (node.type === 'Retry') {
      const children = node.children ?? [];
      const lastId = children[children.length - 1];
      const last = lastId ? nodes[lastId] : undefined;
      if (!last) {
        this.startAttempt(wf, node, template, task, 0, now);
        return { state: 'running', changed: true };
      }
      const s = last.phase === 'Succeeded' ? 'done' : last.phase === 'Failed' || last.phase === 'Error' ? 'failed' : this.updatePodNode(wf, last, template, task, shutdown, now);
      if (s === 'failed' && children.length <= retries && !shutdown) {
        this.startAttempt(wf, node, template, task, children.length, now);
        return { state: 'running', changed: true };
      }
      if (s === 'done' || s === 'failed') {
        node.phase = last.phase;
        node.finishedAt = now;
        if (last.message) node.message = last.message;
        if (last.outputs) node.outputs = last.outputs;
      }
      return { state: s, changed: before !== JSON.stringify(node) || s !== 'running' };
    }
    const s = this.updatePodNode(wf, node, template, task, shutdown, now);
    return { state: s, changed: before !== JSON.stringify(node) };
  }

  private updatePodNode(wf: Workflow, node: NodeStatus, template: WorkflowTemplate, task: string, shutdown: string | undefined, now: string): 'done' | 'failed' | 'running' | 'waiting' {
    const ns = wf.metadata.namespace ?? '';
    const wfName = wf.metadata.name ?? '';
    const podName = argoPodName(wfName, template.name, node.id);
    let pod = this.podPhase(ns, podName);
    if (!pod) {
      if (node.phase === 'Pending' && !node.startedAt) {
        // Memoized resubmit: a Pending node with no pod yet.
        if (shutdown) return 'waiting';
        this.startPod(wf, node.id, node.name, template, task, 0);
        node.startedAt = now;
        return 'running';
      }
      if (node.phase === 'Pending' && !this.pods.has(`${ns}/${podName}`)) {
        this.startPod(wf, node.id, node.name, template, task, 0);
        return 'running';
      }
      node.phase = 'Error';
      node.message = 'pod deleted';
      node.finishedAt = now;
      return 'failed';
    }
    if (shutdown === 'Terminate' && (pod.phase === 'Running' || pod.phase === 'Pending')) {
      const run = this.pods.get(`${ns}/${podName}`);
      if (run) this.finishPod(run, 143, 'Terminated');
      pod = this.podPhase(ns, podName) ?? pod;
    }
    if (pod.phase === 'Pending') {
      node.phase = 'Pending';
      return 'running';
    }
    if (pod.phase === 'Running') {
      node.phase = 'Running';
      return 'running';
    }
    node.finishedAt = now;
    node.outputs = { ...(node.outputs ?? {}), exitCode: String(pod.exitCode ?? 0) };
    const repo = this.artifactRepository;
    if (repo && (repo.archiveLogs || wf.spec.archiveLogs)) {
      const key = `${wfName}/${podName}/main.log`;
      this.putObject?.(repo.bucket, key, this.sim.logText(ns, podName));
      node.outputs.artifacts = [{ name: 'main-logs', s3: { key } }];
      (wf.status ??= {}).artifactRepositoryRef = {
        configMap: 'artifact-repositories',
        key: 'default-v1',
        namespace: ns,
        artifactRepository: { archiveLogs: true, s3: { endpoint: repo.endpoint, bucket: repo.bucket, insecure: repo.insecure ?? true, accessKeySecret: repo.accessKeySecret, secretKeySecret: repo.secretKeySecret } },
      };
    }
    const gc = wf.spec.podGC?.strategy;
    if (pod.phase === 'Succeeded') {
      node.phase = 'Succeeded';
      if (gc === 'OnPodCompletion' || gc === 'OnPodSuccess') this.deletePod(ns, podName);
      return 'done';
    }
    node.phase = 'Failed';
    node.message = pod.exitCode === 143 ? 'terminated' : `Error (exit code ${pod.exitCode ?? 1})`;
    if (gc === 'OnPodCompletion') this.deletePod(ns, podName);
    return 'failed';
  }
}
