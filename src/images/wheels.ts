// Installing requirements without running anything: a wheel is a zip laid out for
// site-packages, so a folder of Linux wheels (a wheel-house) can be unpacked into one image
// layer the way pip would place the files (the `.data/` scheme folders, console-script
// launchers, INSTALLER). Dependencies are not resolved: the wheel-house must hold the whole
// set, as `pip download -r requirements.txt` produces it. Used by the OCI builder.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as yauzl from 'yauzl';
import { ImageError } from './errors';
import { buildLayer, type LayerEntry } from './layer';
import type { Platform } from './manifest';
import { appendLayers, readImage, type PushedImage, type RegistryPool } from './oci';
import { formatReference, type ImageReference } from './reference';
import { canonicalName, parseRequirement } from './requirementSpec';

interface Wheel {
  file: string;
  /** PEP 503 name. */
  key: string;
  version: string;
}

/** `pandas-2.2.1-cp312-cp312-manylinux_2_17_x86_64.whl` → name and version. */
export function parseWheelName(file: string): { name: string; version: string } | undefined {
  const m = /^([^-]+)-([^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$/.exec(path.basename(file));
  return m ? { name: m[1]!, version: m[2]! } : undefined;
}

function listWheels(dir: string): Wheel[] {
  if (!fs.existsSync(dir)) throw new ImageError(`The wheel-house ${dir} does not exist: check the path.`, 'input');
  const wheels: Wheel[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.whl')) continue;
    const parsed = parseWheelName(f);
    if (parsed) wheels.push({ file: path.join(dir, f), key: canonicalName(parsed.name), version: parsed.version });
  }
  return wheels;
}

/**
 * What the OCI builder's image tag hashes: the requirements and every wheel's content hash.
 * Throws when a requirement has no wheel (or none of the pinned version).
 */
export async function wheelhouseInputs(dir: string, requirements: readonly string[]): Promise<Record<string, string>> {
  const wheels = listWheels(dir);
  const missing: string[] = [];
  for (const line of requirements) {
    if (line.startsWith('-')) continue;
    const spec = parseRequirement(line);
    if (!spec.key) continue;
    const pinned = /==\s*([^\s,;]+)/.exec(spec.text)?.[1];
    if (!wheels.some((w) => w.key === spec.key && (pinned === undefined || w.version === pinned))) missing.push(line);
  }
  if (missing.length > 0) {
    throw new ImageError(
      `The wheel-house ${dir} has no wheel for: ${missing.join(', ')}. Download them with \`pip download -r requirements.txt --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 -d ${dir}\`, or use a builder that runs pip.`,
      'input',
    );
  }
  const hashes = wheels.map((w) => `${path.basename(w.file)} ${crypto.createHash('sha256').update(fs.readFileSync(w.file)).digest('hex')}`);
  return { 'requirements.txt': requirements.join('\n'), wheels: hashes.join('\n') };
}

export interface WheelImageInput {
  /** The base, pinned by digest. */
  base: ImageReference;
  target: ImageReference;
  wheelhouse: string;
  requirements: readonly string[];
  platform?: Platform;
  /** Where the base's Python looks for packages; default derived from its PYTHON_VERSION. */
  sitePackages?: string;
  log?: (line: string) => void;
}

/** Unpacks the wheel-house into one layer on the base and pushes it. */
export async function buildWheelImage(pool: RegistryPool, input: WheelImageInput): Promise<PushedImage> {
  const base = await readImage(pool, input.base, input.platform);
  const env = base.config.config?.Env ?? [];
  const version = env.find((e) => e.startsWith('PYTHON_VERSION='))?.split('=')[1];
  const minor = version ? /^(\d+\.\d+)/.exec(version)?.[1] : undefined;
  const sitePackages = input.sitePackages ?? (minor ? `/usr/local/lib/python${minor}/site-packages` : undefined);
  if (!sitePackages || !minor) {
    throw new ImageError(`Cannot tell where Python packages go in the base image ${formatReference(input.base)}: it sets no PYTHON_VERSION. Use an official python image as the base, or a builder that runs pip.`, 'input');
  }
  const entries: LayerEntry[] = [];
  for (const wheel of listWheels(input.wheelhouse)) {
    input.log?.(`Unpacking ${path.basename(wheel.file)}`);
    entries.push(...await wheelEntries(wheel.file, { sitePackages, prefix: '/usr/local', python: `/usr/local/bin/python${minor}`, pythonMinor: minor }));
  }
  const layer = await buildLayer(entries);
  try {
    return await appendLayers(pool, {
      base: input.base,
      target: input.target,
      layers: [{ layer, createdBy: `flowbook: install ${input.requirements.filter((r) => !r.startsWith('-')).join(' ')}` }],
      platform: input.platform,
      log: input.log,
    });
  } finally {
    layer.dispose();
  }
}

interface Scheme {
  sitePackages: string;
  prefix: string;
  /** The interpreter launchers point at. */
  python: string;
  pythonMinor: string;
}

/** The files a wheel installs, at their image paths (the wheel spec's install scheme). */
export async function wheelEntries(file: string, scheme: Scheme): Promise<LayerEntry[]> {
  const wheel = path.basename(file);
  const zip = await readZip(fs.readFileSync(file), wheel);
  const out: LayerEntry[] = [];
  const dataDir = /^[^/]+\.data\/$/;
  let distInfo: string | undefined;
  let projectName = '';
  for (const e of zip) {
    if (e.name.endsWith('/')) continue;
    const top = e.name.split('/')[0]!;
    if (top.endsWith('.dist-info')) {
      distInfo = top;
      projectName = top.replace(/-[^-]+\.dist-info$/, '');
    }
    if (dataDir.test(top + '/')) {
      const [, kind, ...rest] = e.name.split('/');
      const rel = rest.join('/');
      if (kind === 'purelib' || kind === 'platlib') out.push({ path: inside(scheme.sitePackages, rel, wheel), type: 'file', content: e.data(), mode: e.mode });
      else if (kind === 'scripts') out.push({ path: inside(path.posix.join(scheme.prefix, 'bin'), rel, wheel), type: 'file', content: fixShebang(e.data(), scheme.python), mode: 0o755 });
      else if (kind === 'headers') out.push({ path: inside(path.posix.join(scheme.prefix, 'include', `python${scheme.pythonMinor}`), path.posix.join(projectName, rel), wheel), type: 'file', content: e.data() });
      else if (kind === 'data') out.push({ path: inside(scheme.prefix, rel, wheel), type: 'file', content: e.data(), mode: e.mode });
      continue;
    }
    out.push({ path: inside(scheme.sitePackages, e.name, wheel), type: 'file', content: e.data(), mode: e.mode });
  }
  if (!distInfo) throw new ImageError(`${path.basename(file)} is not a wheel (no .dist-info folder): remove it from the wheel-house.`, 'input');
  out.push({ path: path.posix.join(scheme.sitePackages, distInfo, 'INSTALLER'), type: 'file', content: 'flowbook\n' });
  const entryPoints = zip.find((e) => e.name === `${distInfo}/entry_points.txt`);
  if (entryPoints) {
    for (const [name, target] of consoleScripts(entryPoints.data().toString('utf8'))) {
      const [module, attr] = target.split(':').map((s) => s.trim());
      if (!module || !attr) continue;
      const launcher = `#!${scheme.python}\nimport sys\nfrom ${module} import ${attr.split('.')[0]}\nif __name__ == '__main__':\n    sys.exit(${attr}())\n`;
      out.push({ path: inside(path.posix.join(scheme.prefix, 'bin'), name, wheel), type: 'file', content: launcher, mode: 0o755 });
    }
  }
  return out;
}

function fixShebang(data: Buffer, python: string): Buffer {
  // Wheels mark scripts that need the target interpreter with `#!python`.
  if (data.subarray(0, 8).toString('latin1') !== '#!python') return data;
  const eol = data.indexOf(0x0a);
  return Buffer.concat([Buffer.from(`#!${python}`), eol >= 0 ? data.subarray(eol) : Buffer.from('\n')]);
}

function consoleScripts(text: string): [string, string][] {
  const out: [string, string][] = [];
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const s = /^\[(.+)\]$/.exec(line);
    if (s) section = s[1]!;
    else if (section === 'console_scripts' && line.includes('=')) {
      const [name, target] = line.split('=', 2).map((x) => x.trim());
      if (name && target) out.push([name, target.split(/\s/)[0]!]);
    }
  }
  return out;
}

interface ZipEntry {
  name: string;
  /** Unix permission bits, when the archive records them. */
  mode?: number;
  data(): Buffer;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * A wheel's entries, read with yauzl (sizes checked, ZIP64 read) and each entry's CRC-32
 * checked. Like pip, refuses entries that would leave their install folder: absolute names,
 * drive letters, backslashes, `..` components, and symbolic links.
 */
export async function readZip(buf: Buffer, wheel = 'a wheel'): Promise<ZipEntry[]> {
  const bad = (why: string) => new ImageError(`${wheel} in the wheel-house ${why}; pip would refuse it too. Remove it from the wheel-house, or download it again.`, 'input');
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings: false, so names are checked here (with messages that name the entry), not by yauzl.
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true, decodeStrings: false }, (err, z) => (err ? reject(err) : resolve(z))));
  } catch (err) {
    throw bad(`is not a valid zip file (${(err as Error).message})`);
  }
  const entries: ZipEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = Buffer.isBuffer(entry.fileName) ? (entry.fileName as Buffer).toString('utf8') : String(entry.fileName);
        const unsafe = unsafeEntryName(name);
        const fileType = (entry.externalFileAttributes >>> 16) & S_IFMT;
        if (unsafe) return reject(bad(`has the entry ${JSON.stringify(name)}, ${unsafe}`));
        if (fileType === S_IFLNK) return reject(bad(`has the entry ${JSON.stringify(name)}, a symbolic link`));
        if (name.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(bad(`has an entry ${JSON.stringify(name)} that cannot be read (${err.message})`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (e: Error) => reject(bad(`has a damaged entry ${JSON.stringify(name)} (${e.message})`)));
          stream.on('end', () => {
            const data = Buffer.concat(chunks);
            if ((zlib.crc32(data) >>> 0) !== (entry.crc32 >>> 0)) return reject(bad(`has a damaged entry ${JSON.stringify(name)} (its CRC-32 does not match)`));
            const unixMode = (entry.externalFileAttributes >>> 16) & 0o777;
            entries.push({ name, ...(unixMode ? { mode: unixMode } : {}), data: () => data });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return entries;
}

/** Why an entry name could land outside the folder it is unpacked into, or undefined when it cannot. */
function unsafeEntryName(name: string): string | undefined {
  if (name === '' || name.includes('\0')) return 'an empty name or one with a NUL character';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'a path with a drive letter';
  if (name.includes('\\')) return 'a path with a backslash';
  if (name.split('/').some((part) => part === '..')) return 'a path with ".." that leaves its folder';
  return undefined;
}

/** `rel` under `root`, refusing any result outside it (a last guard behind `unsafeEntryName`). */
function inside(root: string, rel: string, wheel: string): string {
  const full = path.posix.join(root, rel);
  if (full !== root && !full.startsWith(`${root.replace(/\/$/, '')}/`)) {
    throw new ImageError(`${wheel} in the wheel-house has the entry ${JSON.stringify(rel)}, which leaves ${root}; pip would refuse it too. Remove it from the wheel-house.`, 'input');
  }
  return full;
}
