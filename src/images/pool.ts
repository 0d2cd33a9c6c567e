// One registry client per registry for a build, sharing credentials, the insecure-registry
// list and the cancellation signal, so tokens are fetched once per registry and scope.

import { DockerConfigCredentials, type CredentialStore } from './dockerConfig';
import type { RegistryPool } from './oci';
import { RegistryClient } from './registry';

export interface RegistrySettings {
  /** Default: Docker's config.json (`$DOCKER_CONFIG` or `~/.docker`). */
  credentials?: CredentialStore;
  /** Registries (`host:port` as written in references) spoken to over plain HTTP. */
  insecureRegistries?: readonly string[];
  signal?: AbortSignal;
  /** Sees every HTTP request (method and URL, never credentials): logs, tests, benchmarks. */
  onRequest?: (method: string, url: string) => void;
}

export function registryPool(settings: RegistrySettings = {}): RegistryPool {
  const credentials = settings.credentials ?? new DockerConfigCredentials();
  const clients = new Map<string, RegistryClient>();
  return {
    client(registry: string): RegistryClient {
      let c = clients.get(registry);
      if (!c) {
        c = new RegistryClient(registry, {
          credentials,
          insecure: (settings.insecureRegistries ?? []).includes(registry),
          signal: settings.signal,
          onRequest: settings.onRequest,
        });
        clients.set(registry, c);
      }
      return c;
    },
  };
}
