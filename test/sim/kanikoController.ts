// SIMULATED CLUSTER (tests only): a stand-in for the kubelet running a Kaniko executor Pod
// (any Pod whose image names kaniko). It does what Flowbook can observe of a real one: the
// Pod goes Pending (volumes must exist: a missing ConfigMap or Secret keeps it there, as a
// failed mount does) → Running → Succeeded/Failed; the build context is read from the
// mounted ConfigMap (`--context=tar://…` or `dir://…`); Kaniko-like log lines are written;
// the push credentials come from the Secret mounted at /kaniko/.docker; and the image is
// really pushed to the `--destination` registry (the tests' local docker-registry) with
// Flowbook's own OCI code, so the digest in the termination message is the pushed one.
// The simulated pip mirrors the buildah tests' stand-in: a requirement starting with
// `fail-please` fails the build, one starting with `hang-please` never finishes.

import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import type { KubeObject } from '../../src/cluster/types';
import { StaticCredentials, type Credentials } from '../../src/images/dockerConfig';
import { ImageError } from '../../src/images/errors';
import { buildLayer } from '../../src/images/layer';
import { appendLayers, readImage } from '../../src/images/oci';
import { registryPool } from '../../src/images/pool';
import { parseReference, type ImageReference } from '../../src/images/reference';
import { pushScope } from '../../src/images/registry';
import type { SimulatedCluster } from './simulatedCluster';

const PODS = '/pods';

export interface SimulatedKanikoOptions {
  /** Delay between the simulated kubelet's steps, in ms (default 5). */
  tickMs?: number;
}

export interface SimulatedKanikoBuild {
  namespace: string;
  pod: string;
  /** The Pod as the API server stored it. */
  spec: KubeObject;
  /** The build context as the executor saw it: file name → content. */
  files: Map<string, string>;
  /** The ConfigMap the context came from, as stored. */
  configMap?: KubeObject;
  destinations: string[];
  digest?: string;
  exitCode?: number;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'deleted';
}

interface PodSpec {
  containers?: {
    name: string;
    image: string;
    args?: string[];
    terminationMessagePath?: string;
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
}

class Gone extends Error {}

export class SimulatedKaniko {
  readonly builds: SimulatedKanikoBuild[] = [];
  /** Executor images the simulated kubelet cannot pull (ErrImagePull, then ImagePullBackOff). */
  readonly unpullable = new Set<string>();
  private readonly tickMs: number;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    private readonly sim: SimulatedCluster,
    options: SimulatedKanikoOptions = {},
  ) {
    this.tickMs = options.tickMs ?? 5;
    this.unsubscribe = sim.store.subscribe((e) => {
      if (e.resource !== PODS) return;
      const ns = e.object.metadata.namespace ?? '';
      const name = e.object.metadata.name ?? '';
      if (e.type === 'ADDED' && isKanikoPod(e.object)) {
        const build: SimulatedKanikoBuild = { namespace: ns, pod: name, spec: structuredClone(e.object), files: new Map(), destinations: [], state: 'pending' };
        this.builds.push(build);
        setTimeout(() => void this.run(build).catch((err: unknown) => this.crash(build, err)), this.tickMs);
      }
      if (e.type === 'DELETED') {
        const build = this.builds.find((b) => b.namespace === ns && b.pod === name && b.state !== 'deleted');
        if (!build) return;
        if (build.state === 'pending' || build.state === 'running') build.state = 'deleted';
        // Deleting a Pod ends its log streams (the container is killed).
        this.sim.endLog(ns, name);
      }
    });
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  /** The build of a Pod, once it has been created. */
  build(namespace: string, pod: string): SimulatedKanikoBuild | undefined {
    return this.builds.find((b) => b.namespace === namespace && b.pod === pod);
  }

  private tick(build: SimulatedKanikoBuild): Promise<void> {
    return new Promise((resolve, reject) =>
      setTimeout(() => (this.stopped || build.state === 'deleted' ? reject(new Gone()) : resolve()), this.tickMs),
    );
  }

  private setStatus(build: SimulatedKanikoBuild, status: object): void {
    if (build.state === 'deleted') throw new Gone();
    this.sim.store.mutate(PODS, build.namespace, build.pod, (pod) => {
      pod.status = status;
    });
  }

  private crash(build: SimulatedKanikoBuild, err: unknown): void {
    if (err instanceof Gone) return;
    // A bug in the simulation: fail the Pod visibly rather than leave it hanging.
    try {
      this.sim.appendLog(build.namespace, build.pod, `simulated kubelet bug: ${String(err)}`);
      this.finish(build, 255, undefined);
    } catch {
      // the Pod is gone
    }
  }

  private async run(build: SimulatedKanikoBuild): Promise<void> {
    const spec = build.spec.spec as PodSpec;
    const container = spec.containers?.[0];
    if (!container) return;
    const waiting = (reason: string, message?: string) => ({
      phase: 'Pending',
      containerStatuses: [{ name: container.name, image: container.image, ready: false, restartCount: 0, state: { waiting: { reason, ...(message ? { message } : {}) } } }],
    });
    this.setStatus(build, waiting('ContainerCreating'));
    await this.tick(build);
    // Volumes: the kubelet retries a mount until its ConfigMap or Secret exists.
    while (this.missingVolume(build.namespace, spec)) await this.tick(build);
    if (this.unpullable.has(container.image)) {
      this.setStatus(build, waiting('ErrImagePull', `failed to pull and unpack image "${container.image}": not found`));
      await this.tick(build);
      this.setStatus(build, waiting('ImagePullBackOff', `Back-off pulling image "${container.image}"`));
      return;
    }
    const startedAt = new Date().toISOString();
    build.state = 'running';
    this.setStatus(build, { phase: 'Running', startTime: startedAt, containerStatuses: [{ name: container.name, image: container.image, ready: true, restartCount: 0, state: { running: { startedAt } } }] });
    await this.tick(build);
    const exec = new SimulatedExecutor(this.sim, build, spec, (line) => this.sim.appendLog(build.namespace, build.pod, line), () => this.tick(build));
    const { exitCode, digest } = await exec.run();
    const termination = container.terminationMessagePath ?? '/dev/termination-log';
    this.finish(build, exitCode, exec.digestFile === termination ? digest : undefined, startedAt);
  }

  private finish(build: SimulatedKanikoBuild, exitCode: number, message: string | undefined, startedAt?: string): void {
    if (build.state === 'deleted') return;
    const container = (build.spec.spec as PodSpec).containers?.[0];
    build.exitCode = exitCode;
    build.state = exitCode === 0 ? 'succeeded' : 'failed';
    this.sim.endLog(build.namespace, build.pod);
    this.sim.store.mutate(PODS, build.namespace, build.pod, (pod) => {
      pod.status = {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [{
          name: container?.name ?? 'kaniko',
          image: container?.image ?? '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', ...(message ? { message } : {}), ...(startedAt ? { startedAt } : {}), finishedAt: new Date().toISOString() } },
        }],
      };
    });
  }

  private missingVolume(namespace: string, spec: PodSpec): boolean {
    return (spec.volumes ?? []).some((v) =>
      v.configMap ? !this.sim.store.get('/configmaps', namespace, v.configMap.name) : v.secret ? !this.sim.store.get('/secrets', namespace, v.secret.secretName) : false,
    );
  }
}

function isKanikoPod(pod: KubeObject): boolean {
  return ((pod.spec as PodSpec | undefined)?.containers ?? []).some((c) => /kaniko/i.test(c.image));
}

/** The executor inside the simulated container: context, Dockerfile, simulated pip, push. */
class SimulatedExecutor {
  digestFile?: string;
  private readonly flags = new Map<string, string[]>();

  constructor(
    private readonly sim: SimulatedCluster,
    private readonly build: SimulatedKanikoBuild,
    private readonly spec: PodSpec,
    private readonly out: (line: string) => void,
    private readonly tick: () => Promise<void>,
  ) {
    for (const arg of spec.containers?.[0]?.args ?? []) {
      const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
      if (!m) continue;
      const list = this.flags.get(m[1]!) ?? [];
      list.push(m[2] ?? 'true');
      this.flags.set(m[1]!, list);
    }
    this.digestFile = this.flag('digest-file');
  }

  private flag(name: string): string | undefined {
    return this.flags.get(name)?.[0];
  }

  private info(text: string): void {
    this.out(`INFO[0000] ${text}`);
  }

  private fail(text: string): { exitCode: number } {
    this.out(text);
    return { exitCode: 1 };
  }

  async run(): Promise<{ exitCode: number; digest?: string }> {
    const context = this.flag('context') ?? 'dir:///workspace';
    const files = await this.readContext(context);
    if (typeof files === 'string') return this.fail(`Error: error resolving source context: ${files}`);
    this.build.files = files;
    const dockerfileName = (this.flag('dockerfile') ?? 'Dockerfile').replace(/^\.\//, '');
    const dockerfile = files.get(dockerfileName);
    if (dockerfile === undefined) return this.fail('Error: error resolving dockerfile path: please provide a valid path to a Dockerfile within the build context with --dockerfile');
    const destinations = this.flags.get('destination') ?? [];
    this.build.destinations = destinations;
    const noPush = this.flag('no-push') === 'true';
    if (destinations.length === 0 && !noPush) return this.fail('Error: you must provide --destination, or use --no-push');

    const targets: ImageReference[] = [];
    for (const d of destinations) targets.push(parseReference(d));
    const insecure = new Set<string>(this.flags.get('insecure-registry') ?? []);
    if (this.flag('insecure') === 'true') for (const t of targets) insecure.add(t.registry);
    const instructions = parseDockerfile(dockerfile);
    const from = instructions.find((i) => i.op === 'FROM');
    if (!from) return this.fail('error building image: parsing dockerfile: no FROM instruction');
    let base: ImageReference;
    try {
      base = parseReference(from.args);
    } catch {
      return this.fail(`error building image: parsing dockerfile: invalid reference format: ${from.args}`);
    }
    if (this.flag('insecure-pull') === 'true') insecure.add(base.registry);
    const pool = registryPool({ credentials: new StaticCredentials(this.credentials()), insecureRegistries: [...insecure] });

    // Kaniko checks that it may push before it builds anything.
    for (const [i, t] of targets.entries()) {
      try {
        await pool.client(t.registry).hasBlob(t.repository, 'sha256:' + '0'.repeat(64), pushScope(t.repository));
      } catch (err) {
        const why = err instanceof ImageError && err.kind === 'unauthorized'
          ? `POST ${scheme(t.registry, insecure)}://${t.registry}/v2/${t.repository}/blobs/uploads/: UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:${t.repository} Type:repository] map[Action:push Class: Name:${t.repository} Type:repository]]`
          : `creating push check transport for ${t.registry} failed: ${err instanceof Error ? err.message : String(err)}`;
        return this.fail(`error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "${destinations[i]}": ${why}`);
      }
    }
    await this.tick();

    this.info(`Retrieving image manifest ${from.args}`);
    try {
      await readImage(pool, base);
    } catch (err) {
      return this.fail(`error building image: unable to complete operation after 0 attempts, last error: GET ${scheme(base.registry, insecure)}://${base.registry}/v2/${base.repository}/manifests/${base.digest ?? base.tag ?? 'latest'}: MANIFEST_UNKNOWN: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.info(`Retrieving image ${from.args} from registry ${base.registry}`);
    this.info('Built cross stage deps: map[]');
    this.info('Executing 0 build triggers');
    this.info(`Building stage '${from.args}' [idx: '0', base-idx: '-1']`);
    await this.tick();

    const copied = new Map<string, string>();
    const labels: Record<string, string> = {};
    let installed: string | undefined;
    let runLine = '';
    for (const ins of instructions) {
      if (ins.op === 'COPY') {
        const [src, dest] = ins.args.split(/\s+/);
        const content = files.get(src ?? '');
        if (content === undefined) return this.fail(`error building image: error building stage: failed to get files used from context: failed to get fileinfo for /kaniko/buildcontext/${src}: lstat /kaniko/buildcontext/${src}: no such file or directory`);
        this.info(`Unpacking rootfs as cmd COPY ${ins.args} requires it.`);
        this.info(`COPY ${ins.args}`);
        copied.set(dest ?? '', content);
      } else if (ins.op === 'RUN') {
        runLine = `RUN ${ins.args}`;
        this.info(runLine);
        this.info('Cmd: /bin/sh');
        this.info(`Args: [-c ${ins.args}]`);
        this.info(`Running: [/bin/sh -c ${ins.args}]`);
        const r = /pip install .*-r\s+(\S+)/.exec(ins.args);
        if (r) {
          const requirements = copied.get(r[1] ?? '');
          if (requirements === undefined) return this.fail(`ERROR: Could not open requirements file: [Errno 2] No such file or directory: '${r[1]}'\nerror building image: error building stage: failed to execute command: waiting for process to exit: exit status 1`);
          const result = await this.pip(requirements, dockerfile);
          if (result !== 0) return this.fail(`error building image: error building stage: failed to execute command: waiting for process to exit: exit status ${result}`);
          installed = requirements;
        }
        await this.tick();
      } else if (ins.op === 'LABEL') {
        this.info(`LABEL ${ins.args}`);
        for (const m of ins.args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
      }
    }
    this.info('Taking snapshot of full filesystem...');
    await this.tick();
    if (noPush) {
      this.info('Skipping push to container registry due to --no-push flag');
      return { exitCode: 0 };
    }
    const layer = await buildLayer([{ path: 'opt/flowbook-test/installed.txt', type: 'file', content: installed ?? '' }]);
    let digest = '';
    try {
      for (const [i, target] of targets.entries()) {
        this.info(`Pushing image to ${destinations[i]}`);
        const pushed = await appendLayers(pool, {
          base,
          target: { ...target, tag: target.tag ?? 'latest' },
          layers: [{ layer, createdBy: runLine || 'kaniko' }],
          labels,
        });
        digest = pushed.digest;
        this.info(`Pushed ${target.registry}/${target.repository}@${digest}`);
      }
    } catch (err) {
      return this.fail(`error pushing image: failed to push to destination ${destinations[0]}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      layer.dispose();
    }
    this.build.digest = digest;
    return { exitCode: 0, digest };
  }

  /** The simulated `pip install -r`: fails on `fail-please`, never ends on `hang-please`. */
  private async pip(requirements: string, dockerfile: string): Promise<number> {
    const lines = requirements.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('-'));
    for (const l of lines) this.out(`Collecting ${l}`);
    await this.tick();
    const failing = lines.find((l) => l.startsWith('fail-please')) ?? (dockerfile.includes('fail-please') ? 'fail-please' : undefined);
    if (failing) {
      this.out(`ERROR: Could not find a version that satisfies the requirement ${failing} (from versions: none)`);
      this.out(`ERROR: No matching distribution found for ${failing}`);
      return 1;
    }
    if (lines.some((l) => l.startsWith('hang-please'))) {
      this.out('  Downloading (this simulated download never ends)');
      for (;;) await this.tick();
    }
    this.out(`Successfully installed ${lines.map((l) => l.replace(/==/, '-')).join(' ')}`);
    return 0;
  }

  /** The context files, or why they cannot be read. */
  private async readContext(context: string): Promise<Map<string, string> | string> {
    const m = /^(tar|dir):\/\/(.*)$/.exec(context);
    if (!m) return `unknown build context prefix provided: ${context}`;
    const [, kind, where] = m as unknown as [string, string, string];
    if (kind === 'tar' && where === 'stdin') return 'no data found on stdin (the simulated cluster has no attach endpoint)';
    const container = this.spec.containers?.[0];
    const mount = (container?.volumeMounts ?? [])
      .filter((v) => where === v.mountPath || where.startsWith(v.mountPath.replace(/\/$/, '') + '/'))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const volume = mount && (this.spec.volumes ?? []).find((v) => v.name === mount.name);
    const configMap = volume?.configMap && this.sim.store.get('/configmaps', this.build.namespace, volume.configMap.name);
    if (!mount || !configMap) return `open ${where}: no such file or directory`;
    this.build.configMap = configMap;
    const data = (configMap as { data?: Record<string, string> }).data ?? {};
    const binary = (configMap as { binaryData?: Record<string, string> }).binaryData ?? {};
    const read = (key: string): Buffer | undefined => (key in data ? Buffer.from(data[key]!) : key in binary ? Buffer.from(binary[key]!, 'base64') : undefined);
    if (kind === 'dir') {
      const files = new Map<string, string>();
      for (const key of [...Object.keys(data), ...Object.keys(binary)]) files.set(key, read(key)!.toString('utf8'));
      return files;
    }
    const key = where.slice(mount.mountPath.replace(/\/$/, '').length + 1);
    const tarGz = read(key);
    if (!tarGz) return `open ${where}: no such file or directory`;
    try {
      return await untar(zlib.gunzipSync(tarGz));
    } catch (err) {
      return `unpacking ${where}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** Registry credentials from the docker config Secret mounted at /kaniko/.docker. */
  private credentials(): Record<string, Credentials> {
    const mount = (this.spec.containers?.[0]?.volumeMounts ?? []).find((v) => v.mountPath.replace(/\/$/, '') === '/kaniko/.docker');
    const volume = mount && (this.spec.volumes ?? []).find((v) => v.name === mount.name);
    if (!volume?.secret) return {};
    const secret = this.sim.store.get('/secrets', this.build.namespace, volume.secret.secretName) as { data?: Record<string, string> } | undefined;
    const key = volume.secret.items?.find((i) => i.path === 'config.json')?.key ?? 'config.json';
    const raw = secret?.data?.[key];
    if (!raw) return {};
    const config = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    const out: Record<string, Credentials> = {};
    for (const [server, entry] of Object.entries(config.auths ?? {})) {
      const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
      let { username, password } = entry;
      if (entry.auth) {
        const text = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = text.indexOf(':');
        username = text.slice(0, colon);
        password = text.slice(colon + 1);
      }
      out[host] = { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
    }
    return out;
  }
}

function scheme(registry: string, insecure: Set<string>): string {
  return insecure.has(registry) ? 'http' : 'https';
}

/** Dockerfile instructions, with `\` continuations joined. */
function parseDockerfile(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: { op: string; args: string }[] = [];
  for (const line of joined.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(t);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.replace(/\s+/g, ' ').trim() });
  }
  return out;
}

/** Files of an uncompressed tar: path → content (directories left out). */
function untar(data: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tar.extract();
  return new Promise((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks).toString('utf8'));
        next();
      });
    });
    extract.on('finish', () => resolve(files));
    extract.on('error', reject);
    extract.end(data);
  });
}
