// Writing a file users keep (compiled YAML, run records) without ever losing what was there:
// a regular file is replaced by renaming a finished temp file over it (never half-written),
// keeping its mode; a symlink is written through, not replaced; a device or FIFO is written
// in place. A failure is a `FileWriteError` whose message names the path and what to do.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file could not be written; `message` is one line for people, naming the path. */
export class FileWriteError extends Error {
  constructor(message: string, readonly path: string, readonly code: string | undefined) {
    super(message);
    this.name = 'FileWriteError';
  }
}

export interface WriteOptions {
  /** Create the missing folders above the file (run records); otherwise a missing folder is an error. */
  mkdir?: boolean;
}

/** The most symlinks followed before giving up, as the kernel does (ELOOP). */
const MAX_LINKS = 40;

export function writeFileAtomic(file: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const target = followLinks(file);
  const existing = statOrUndefined(target, file);
  if (existing?.isDirectory()) throw new FileWriteError(`cannot write ${file}: it is a folder; give a file name`, file, 'EISDIR');
  if (existing && !existing.isFile()) {
    // A device, FIFO or socket: renaming over it would replace the node itself.
    try {
      fs.writeFileSync(target, data);
    } catch (err) {
      throw writeError(err, file);
    }
    return;
  }
  const dir = path.dirname(target);
  if (options.mkdir) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw writeError(err, dir);
    }
  }
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    // The temp file starts with the mode the file has now, so renaming keeps it.
    fs.writeFileSync(tmp, data, { flag: 'wx', mode: existing ? existing.mode & 0o7777 : 0o666 });
    if (existing) fs.chmodSync(tmp, existing.mode & 0o7777);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw writeError(err, file);
  }
}

/** The file a chain of symlinks ends at, existing or not; `file` itself when it is not a link. */
function followLinks(file: string): string {
  let current = file;
  for (let i = 0; i < MAX_LINKS; i++) {
    let link: string;
    try {
      if (!fs.lstatSync(current).isSymbolicLink()) return current;
      link = fs.readlinkSync(current);
    } catch (err) {
      if (isMissingFolder(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return current;
      throw writeError(err, file);
    }
    current = path.resolve(path.dirname(current), link);
  }
  throw new FileWriteError(`cannot write ${file}: too many symbolic links (a loop?)`, file, 'ELOOP');
}

function statOrUndefined(target: string, file: string): fs.Stats | undefined {
  try {
    return fs.statSync(target);
  } catch (err) {
    if (isMissingFolder(err)) return undefined;
    throw writeError(err, file);
  }
}

function isMissingFolder(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** One line for people from a Node file-system error, naming `file`. */
export function writeError(err: unknown, file: string): FileWriteError {
  if (err instanceof FileWriteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'ENOENT' ? `the folder ${path.dirname(file)} does not exist; create it first or choose another path` : describeFsCode(code, err);
  return new FileWriteError(`cannot write ${file}: ${why}`, file, code);
}

/** What a file-system error code means and what to do about it, in a few words. */
export function describeFsCode(code: string | undefined, err?: unknown): string {
  switch (code) {
    case 'ENOENT': return 'no such file or folder';
    case 'ENOTDIR': return 'a part of the path is a file, not a folder';
    case 'EISDIR': return 'it is a folder; give a file name';
    case 'EACCES':
    case 'EPERM': return 'permission denied; choose a folder you can write to';
    case 'EROFS': return 'the file system is read-only; choose another folder';
    case 'ENOSPC': return 'no space left on the device; free some space and try again';
    case 'EDQUOT': return 'the disk quota is exceeded; free some space and try again';
    case 'ENAMETOOLONG': return 'the name is too long';
    case 'ELOOP': return 'too many symbolic links (a loop?)';
    case 'EXDEV': return 'the temp file and the target are on different file systems';
    default: return err instanceof Error ? err.message : String(err);
  }
}
