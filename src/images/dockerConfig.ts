// Registry credentials from Docker's client configuration (`$DOCKER_CONFIG/config.json`,
// else `~/.docker/config.json`), the file `docker login`, `podman login` and many CI tools
// write: per-registry credential helpers, a global credential store, or base64 `auths`
// entries. Credentials stay in memory: they are never logged, put in messages or on
// command lines.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DOCKER_HUB } from './reference';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token used as is (`registrytoken`). */
  registryToken?: string;
}

/** Looks up credentials for a registry name as written in references (`docker.io`, `host:5000`). */
export interface CredentialStore {
  get(registry: string): Promise<Credentials | undefined>;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The config file Docker reads: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** The key `docker login` uses for a registry: Docker Hub has its historical URL. */
function serverUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** `https://host:5000/v1/` → `host:5000`; Docker Hub's aliases → `docker.io`. */
function normaliseKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return ['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].includes(host) ? DOCKER_HUB : host;
}

export class DockerConfigCredentials implements CredentialStore {
  private readonly cache = new Map<string, Promise<Credentials | undefined>>();

  /** `helperDir`: where `docker-credential-*` programs are looked up first (tests); else PATH. */
  constructor(
    readonly configPath: string = dockerConfigPath(),
    private readonly helperDir?: string,
  ) {}

  get(registry: string): Promise<Credentials | undefined> {
    let hit = this.cache.get(registry);
    if (!hit) {
      hit = this.lookup(registry);
      this.cache.set(registry, hit);
    }
    return hit;
  }

  private async lookup(registry: string): Promise<Credentials | undefined> {
    const config = this.read();
    if (!config) return undefined;
    const want = normaliseKey(registry);
    const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => normaliseKey(k) === want)?.[1] ?? config.credsStore;
    if (helper) {
      const fromHelper = await this.fromHelper(helper, registry);
      if (fromHelper) return fromHelper;
    }
    const entry = Object.entries(config.auths ?? {}).find(([k]) => normaliseKey(k) === want)?.[1];
    if (!entry) return undefined;
    const creds: Credentials = {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        creds.username = decoded.slice(0, colon);
        creds.password = decoded.slice(colon + 1);
      }
    }
    if (entry.username !== undefined) creds.username = entry.username;
    if (entry.password !== undefined) creds.password = entry.password;
    if (entry.identitytoken) creds.identityToken = entry.identitytoken;
    if (entry.registrytoken) creds.registryToken = entry.registrytoken;
    return Object.keys(creds).length > 0 ? creds : undefined;
  }

  private read(): DockerConfigFile | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.configPath, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as DockerConfigFile;
    } catch {
      // Say where, never what: the file holds secrets.
      throw new Error(`${this.configPath} is not valid JSON: fix or remove it, then run \`docker login\` again.`);
    }
  }

  /** Runs `docker-credential-<helper> get` with the server URL on stdin. Missing helpers or entries yield undefined. */
  private fromHelper(helper: string, registry: string): Promise<Credentials | undefined> {
    const program = `docker-credential-${helper}`;
    const local = this.helperDir ? path.join(this.helperDir, program) : undefined;
    const command = local && fs.existsSync(local) ? local : program;
    return new Promise((resolve) => {
      const child = spawn(command, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', () => resolve(undefined));
      child.stdin.on('error', () => undefined);
      child.on('close', (code) => {
        if (code !== 0) return resolve(undefined);
        try {
          const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
          if (!parsed.Secret) return resolve(undefined);
          // Docker's convention: the user name `<token>` marks an identity (refresh) token.
          resolve(parsed.Username === '<token>' ? { identityToken: parsed.Secret } : { username: parsed.Username ?? '', password: parsed.Secret });
        } catch {
          resolve(undefined);
        }
      });
      child.stdin.end(serverUrl(registry));
    });
  }
}

/** A store holding fixed credentials by registry, for callers that already have them (the extension's secret storage, tests). */
export class StaticCredentials implements CredentialStore {
  constructor(private readonly byRegistry: Record<string, Credentials>) {}
  async get(registry: string): Promise<Credentials | undefined> {
    return this.byRegistry[registry];
  }
}
