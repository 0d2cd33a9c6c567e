// Builders that drive a container CLI: docker (needs a reachable engine), podman and buildah
// (daemonless). They build the generated context and push it; the push happens only after a
// successful build, so a failed build never leaves an image behind. Credentials reach them
// through an auth file path, never on the command line.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageError } from '../errors';
import type { Platform } from '../manifest';

export type CliBuilderName = 'docker' | 'podman' | 'buildah';

export interface CliBuildJob {
  /** Folder holding Containerfile and requirements.txt. */
  contextDir: string;
  /** `host/repo:tag` to build and push. */
  target: string;
  /** Use plain HTTP / skip TLS checks for the registries involved. */
  insecure: boolean;
  platform?: Platform;
  /** Docker-format config.json with credentials, when not the default location. */
  authFile?: string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export interface BuildahSettings {
  /** Default `vfs`: works everywhere, including containers without overlay support. */
  storageDriver?: string;
  /** Default `chroot`: needs no user namespaces, so it works as root in a container. */
  isolation?: string;
  /** Storage folders (`--root`, `--runroot`); default: buildah's own. */
  root?: string;
  runroot?: string;
}

export interface CliBuilderSettings {
  buildah?: BuildahSettings;
  /** Program paths, when not the ones on PATH. */
  programs?: Partial<Record<CliBuilderName, string>>;
}

export interface Availability {
  available: boolean;
  /** Why not, in words for a message. */
  reason?: string;
}

/** Checks that a builder can work here: docker needs its engine, the others only their program. */
export async function detectCliBuilder(name: CliBuilderName, settings: CliBuilderSettings = {}): Promise<Availability> {
  const program = settings.programs?.[name] ?? name;
  const version = await run(program, ['--version'], { timeoutMs: 10_000 });
  if (version.code !== 0) return { available: false, reason: `${name} is not installed` };
  if (name !== 'docker') return { available: true };
  // The docker CLI is often installed without an engine (or with one that is stopped).
  const server = await run(program, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
  if (server.code === 0 && server.output.trim()) return { available: true };
  const why = server.output.trim().split('\n').filter(Boolean).pop() ?? 'no answer';
  return { available: false, reason: `docker is installed but cannot reach its engine (${why})` };
}

/** Builds and pushes; returns the pushed digest when the builder reports it. */
export async function runCliBuild(name: CliBuilderName, job: CliBuildJob, settings: CliBuilderSettings = {}): Promise<{ digest?: string }> {
  const program = settings.programs?.[name] ?? name;
  const containerfile = path.join(job.contextDir, 'Containerfile');
  const platform = job.platform ? [`--platform=${job.platform.os}/${job.platform.architecture}${job.platform.variant ? '/' + job.platform.variant : ''}`] : [];
  const tls = [`--tls-verify=${job.insecure ? 'false' : 'true'}`];
  const auth = job.authFile ? ['--authfile', job.authFile] : [];
  const digestDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-digest-'));
  const digestFile = path.join(digestDir, 'digest');
  try {
    let build: string[];
    let push: string[];
    let cleanup: string[] | undefined;
    if (name === 'docker') {
      const config = job.authFile ? ['--config', path.dirname(job.authFile)] : [];
      build = [...config, 'build', ...platform, '-f', containerfile, '-t', job.target, job.contextDir];
      push = [...config, 'push', job.target];
    } else if (name === 'podman') {
      build = ['build', ...platform, ...tls, ...auth, '-f', containerfile, '-t', job.target, job.contextDir];
      push = ['push', ...tls, ...auth, '--digestfile', digestFile, job.target, `docker://${job.target}`];
    } else {
      const b = settings.buildah ?? {};
      const global = [
        ...(b.root ? ['--root', b.root] : []),
        ...(b.runroot ? ['--runroot', b.runroot] : []),
        '--storage-driver', b.storageDriver ?? 'vfs',
      ];
      build = [...global, 'bud', '--isolation', b.isolation ?? 'chroot', ...platform, ...tls, ...auth, '-f', containerfile, '-t', job.target, job.contextDir];
      push = [...global, 'push', ...tls, ...auth, '--digestfile', digestFile, job.target, `docker://${job.target}`];
      cleanup = [...global, 'rmi', job.target];
    }
    await step(name, program, build, 'build', job);
    await step(name, program, push, 'push', job);
    if (cleanup) await run(program, cleanup, { signal: job.signal });
    const digest = fs.existsSync(digestFile) ? fs.readFileSync(digestFile, 'utf8').trim() : undefined;
    return digest ? { digest } : {};
  } finally {
    fs.rmSync(digestDir, { recursive: true, force: true });
  }
}

async function step(name: CliBuilderName, program: string, args: string[], what: 'build' | 'push', job: CliBuildJob): Promise<void> {
  job.log(`$ ${program} ${args.join(' ')}`);
  const res = await run(program, args, { signal: job.signal, onLine: job.log });
  if (job.signal?.aborted) throw new ImageError(`The image ${what} of ${job.target} was cancelled.`, 'cancelled');
  if (res.code === 0) return;
  const tail = res.output.trimEnd().split('\n').slice(-15);
  const advice = what === 'build'
    ? 'Nothing was pushed. Fix the requirement named above (edit the list, requirements.txt or the `%pip install` line) and build again.'
    : 'The image was built but not pushed: check the registry address and that you are logged in (`docker login`).';
  throw new ImageError(
    `The ${name} ${what} of ${job.target} failed (exit code ${res.code ?? 'signal'}). ${advice}\nLast lines of the ${name} log:\n${tail.map((l) => '  ' + l).join('\n')}`,
    'build-failed',
    tail,
  );
}

interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved, as a person would have seen them. */
  output: string;
}

/** Runs a program, passing each output line on; a missing program gives code null. */
export function run(program: string, args: string[], options: { signal?: AbortSignal; onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let output = '';
    let partial = '';
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal, timeout: options.timeoutMs });
    const onData = (d: Buffer) => {
      const text = d.toString('utf8');
      output += text;
      if (output.length > 1_000_000) output = output.slice(-500_000);
      if (!options.onLine) return;
      partial += text;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) options.onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => resolve({ code: null, output: output + String(err.message) }));
    child.on('close', (code) => {
      if (partial && options.onLine) options.onLine(partial);
      resolve({ code, output });
    });
  });
}
