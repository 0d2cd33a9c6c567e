// Installing requirements without running anything: a wheel is a zip laid out for
// site-packages, so a folder of Linux wheels (a wheel-house) can be unpacked into one image
// layer the way pip would place the files (the `.data/` scheme folders, console-script
// launchers, INSTALLER). Dependencies are not resolved: the wheel-house must hold the whole
// set, as `pip download -r requirements.txt` produces it. Used by the OCI builder.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
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
    entries.push(...wheelEntries(wheel.file, { sitePackages, prefix: '/usr/local', python: `/usr/local/bin/python${minor}`, pythonMinor: minor }));
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
export function wheelEntries(file: string, scheme: Scheme): LayerEntry[] {
  const zip = readZip(fs.readFileSync(file));
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
      if (kind === 'purelib' || kind === 'platlib') out.push({ path: path.posix.join(scheme.sitePackages, rel), type: 'file', content: e.data(), mode: e.mode });
      else if (kind === 'scripts') out.push({ path: path.posix.join(scheme.prefix, 'bin', rel), type: 'file', content: fixShebang(e.data(), scheme.python), mode: 0o755 });
      else if (kind === 'headers') out.push({ path: path.posix.join(scheme.prefix, 'include', `python${scheme.pythonMinor}`, projectName, rel), type: 'file', content: e.data() });
      else if (kind === 'data') out.push({ path: path.posix.join(scheme.prefix, rel), type: 'file', content: e.data(), mode: e.mode });
      continue;
    }
    out.push({ path: path.posix.join(scheme.sitePackages, e.name), type: 'file', content: e.data(), mode: e.mode });
  }
  if (!distInfo) throw new ImageError(`${path.basename(file)} is not a wheel (no .dist-info folder): remove it from the wheel-house.`, 'input');
  out.push({ path: path.posix.join(scheme.sitePackages, distInfo, 'INSTALLER'), type: 'file', content: 'flowbook\n' });
  const entryPoints = zip.find((e) => e.name === `${distInfo}/entry_points.txt`);
  if (entryPoints) {
    for (const [name, target] of consoleScripts(entryPoints.data().toString('utf8'))) {
      const [module, attr] = target.split(':').map((s) => s.trim());
      if (!module || !attr) continue;
      const launcher = `#!${scheme.python}\nimport sys\nfrom ${module} import ${attr.split('.')[0]}\nif __name__ == '__main__':\n    sys.exit(${attr}())\n`;
      out.push({ path: path.posix.join(scheme.prefix, 'bin', name), type: 'file', content: launcher, mode: 0o755 });
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

/** Reads a zip's central directory (no ZIP64: wheels over 4 GiB are refused). */
export function readZip(buf: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ImageError('A wheel in the wheel-house is not a valid zip file.', 'input');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new ImageError('A wheel in the wheel-house has a damaged zip directory.', 'input');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    if (compressed === 0xffffffff || local === 0xffffffff) throw new ImageError(`The wheel entry ${name} needs ZIP64, which Flowbook does not read.`, 'input');
    const unixMode = (external >>> 16) & 0o777;
    entries.push({
      name,
      ...(unixMode ? { mode: unixMode } : {}),
      data: () => {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + compressed);
        if (method === 0) return Buffer.from(raw);
        if (method === 8) return zlib.inflateRawSync(raw);
        throw new ImageError(`The wheel entry ${name} uses zip compression method ${method}; only stored and deflated entries are read.`, 'input');
      },
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
