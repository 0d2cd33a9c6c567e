// Builds image layers: a tar of files, gzipped, written to a temporary file while both
// digests are computed in the same pass (the diff_id of the tar, the digest of the gzip).
// Layers are reproducible: entries sorted by path, parent folders made explicit, fixed
// owner and modification time, so the same files always give the same digests.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';

export type LayerEntry =
  | { path: string; type: 'file'; content: Buffer | string; mode?: number }
  | { path: string; type: 'file'; source: string; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string };

export interface BuiltLayer {
  /** The gzipped tar on disk (remove it with `dispose`). */
  file: string;
  /** sha256 of the gzipped bytes: the blob digest. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar: goes into the config's rootfs.diff_ids. */
  diffId: string;
  dispose(): void;
}

/** Files in layers carry this time, so a rebuild gives the same bytes. */
export const LAYER_MTIME = new Date(0);

class HashTap extends Transform {
  readonly hash = crypto.createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** Normalises an absolute or relative image path to the tar form `usr/local/bin/x`. */
function tarPath(p: string): string {
  const norm = path.posix.normalize('/' + p.replace(/\\/g, '/')).slice(1);
  if (!norm || norm.startsWith('..')) throw new Error(`layer path ${p} leaves the image root`);
  return norm;
}

/** Builds a reproducible gzipped layer from entries. */
export async function buildLayer(entries: readonly LayerEntry[], options: { gzipLevel?: number } = {}): Promise<BuiltLayer> {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    const p = tarPath(e.path);
    byPath.set(p, { ...e, path: p });
    // Every parent folder gets its own entry, so extraction never invents permissions.
    for (let dir = path.posix.dirname(p); dir !== '.' && dir !== '/'; dir = path.posix.dirname(dir)) {
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'dir' });
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-layer-'));
  const file = path.join(dir, 'layer.tar.gz');
  const pack = tar.pack();
  const tarTap = new HashTap();
  const gzTap = new HashTap();
  const done = pipeline(pack, tarTap, zlib.createGzip({ level: options.gzipLevel ?? 6 }), gzTap, fs.createWriteStream(file));
  const common = { mtime: LAYER_MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  for (const e of sorted) {
    if (e.type === 'dir') {
      await entry(pack, { ...common, name: e.path + '/', type: 'directory', mode: e.mode ?? 0o755 });
    } else if (e.type === 'symlink') {
      await entry(pack, { ...common, name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
    } else if ('content' in e) {
      const buf = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
      await entry(pack, { ...common, name: e.path, type: 'file', mode: e.mode ?? 0o644, size: buf.length }, buf);
    } else {
      const stat = fs.statSync(e.source);
      await entry(pack, { ...common, name: e.path, type: 'file', mode: e.mode ?? (stat.mode & 0o111 ? 0o755 : 0o644), size: stat.size }, fs.createReadStream(e.source));
    }
  }
  pack.finalize();
  await done;
  return {
    file,
    digest: 'sha256:' + gzTap.hash.digest('hex'),
    size: gzTap.bytes,
    diffId: 'sha256:' + tarTap.hash.digest('hex'),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function entry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, body?: Buffer | fs.ReadStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body === undefined || Buffer.isBuffer(body)) {
      pack.entry(header, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    body.on('error', reject);
    body.pipe(sink);
  });
}

/** Entries for a folder on disk copied to `dest` in the image (files and symlinks, sorted). */
export function folderEntries(folder: string, dest: string): LayerEntry[] {
  const out: LayerEntry[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(folder, rel)).sort()) {
      const relPath = path.join(rel, name);
      const full = path.join(folder, relPath);
      const target = path.posix.join(dest, relPath.split(path.sep).join('/'));
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) out.push({ path: target, type: 'symlink', target: fs.readlinkSync(full) });
      else if (stat.isDirectory()) {
        out.push({ path: target, type: 'dir' });
        walk(relPath);
      } else out.push({ path: target, type: 'file', source: full });
    }
  };
  walk('');
  return out;
}
