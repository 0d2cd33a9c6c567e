// Where a notebook's code lives, for the pipeline version's source link: the web address of
// the file at the commit checked out, when the notebook is in a git repository with a
// remote. Remote URLs lose any credentials in them before they are used.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/** `https://host/owner/repo` for a remote URL (https, ssh or scp-like), without credentials. */
export function webUrlOfRemote(remote: string): string | undefined {
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/)(.+?)(?:\.git)?\/?$/.exec(remote);
  if (scp && !remote.includes('://')) return `https://${scp[1]}/${scp[2]}`;
  try {
    const url = new URL(remote);
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(url.protocol)) return undefined;
    const repoPath = url.pathname.replace(/\.git\/?$/, '').replace(/\/$/, '');
    return `https://${url.hostname}${repoPath}`;
  } catch {
    return undefined;
  }
}

/** The web address of `file` at the current commit, or undefined when it is not in git with a remote. */
export function codeSourceUrl(file: string): string | undefined {
  const dir = path.dirname(path.resolve(file));
  const top = git(dir, ['rev-parse', '--show-toplevel']);
  if (!top) return undefined;
  const remote = git(dir, ['remote', 'get-url', 'origin']) ?? git(dir, ['remote', 'get-url', (git(dir, ['remote']) ?? '').split('\n')[0] ?? '']);
  const commit = git(dir, ['rev-parse', 'HEAD']);
  if (!remote || !commit) return undefined;
  const web = webUrlOfRemote(remote);
  if (!web) return undefined;
  const relative = path.relative(top, path.resolve(file)).split(path.sep).map(encodeURIComponent).join('/');
  return `${web}/blob/${commit}/${relative}`;
}
