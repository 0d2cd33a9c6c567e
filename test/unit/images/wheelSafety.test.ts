// Wheels are unpacked as pip would: every entry's CRC-32 is checked, and an entry that would
// land outside its install folder (`../`, absolute, a drive letter, a backslash, a symlink,
// a console script named `../x`) is refused with a message naming the wheel and the entry.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageError } from '../../../src/images/errors';
import { wheelEntries } from '../../../src/images/wheels';

const SCHEME = { sitePackages: '/usr/local/lib/python3.12/site-packages', prefix: '/usr/local', python: '/usr/local/bin/python3.12', pythonMinor: '3.12' };

/** Writes a wheel with Python's zipfile: `entries` are [name, text] or [name, text, unix mode]. */
const MAKE = `
import json, sys, zipfile
out, entries, corrupt = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == '1'
with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:
    for e in entries:
        info = zipfile.ZipInfo(e[0])
        if len(e) > 2:
            info.external_attr = e[2] << 16
        z.writestr(info, e[1])
if corrupt:
    data = bytearray(open(out, 'rb').read())
    i = data.index(b'CORRUPTME')
    data[i] = ord('X')
    open(out, 'wb').write(bytes(data))
`;

describe('images: wheel entries are checked like pip', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-wheel-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  function wheel(entries: (string | number)[][], corrupt = false): string {
    const file = path.join(dir, `demo_pkg-1.0-py3-none-any-${n++}.whl`);
    const r = spawnSync('/usr/bin/python3', ['-c', MAKE, file, JSON.stringify(entries), corrupt ? '1' : '0'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return file;
  }
  const META = ['demo_pkg-1.0.dist-info/METADATA', 'Name: demo-pkg\n'];

  it('unpacks a good wheel into site-packages, bin and the data scheme', async () => {
    const entries = await wheelEntries(wheel([
      ['demo_pkg/__init__.py', 'x = 1\n'], META, ['demo_pkg-1.0.data/scripts/tool', '#!python\nprint(1)\n', 0o100755],
      ['demo_pkg-1.0.dist-info/entry_points.txt', '[console_scripts]\ndemo = demo_pkg:main\n'],
    ]), SCHEME);
    const paths = entries.map((e) => e.path).sort();
    assert.deepEqual(paths, [
      '/usr/local/bin/demo', '/usr/local/bin/tool',
      '/usr/local/lib/python3.12/site-packages/demo_pkg-1.0.dist-info/INSTALLER', '/usr/local/lib/python3.12/site-packages/demo_pkg-1.0.dist-info/METADATA',
      '/usr/local/lib/python3.12/site-packages/demo_pkg-1.0.dist-info/entry_points.txt', '/usr/local/lib/python3.12/site-packages/demo_pkg/__init__.py',
    ]);
  });

  const cases: [string, (string | number)[][], RegExp][] = [
    ['../ in a name', [META, ['../../../../etc/evil.py', 'x']], /"\.\.\/\.\.\/\.\.\/\.\.\/etc\/evil\.py", a path with "\.\." that leaves its folder/],
    ['.. inside the data scheme', [META, ['demo_pkg-1.0.data/purelib/../../../../../etc/x', 'x']], /a path with "\.\." that leaves its folder/],
    ['an absolute name', [META, ['/etc/evil.py', 'x']], /"\/etc\/evil\.py", an absolute path/],
    ['a drive letter', [META, ['C:/evil.py', 'x']], /a path with a drive letter/],
    ['a backslash', [META, ['..\\evil.py', 'x']], /a path with a backslash/],
    ['a symbolic link', [META, ['demo_pkg/link', '/etc/passwd', 0o120777]], /"demo_pkg\/link", a symbolic link/],
    ['a console script named ../x', [META, ['demo_pkg-1.0.dist-info/entry_points.txt', '[console_scripts]\n../../../etc/cron = demo_pkg:main\n']], /leaves \/usr\/local\/bin/],
  ];
  for (const [what, entries, pattern] of cases) {
    it(`refuses ${what}, naming the wheel and the entry`, async () => {
      const file = wheel(entries);
      await assert.rejects(wheelEntries(file, SCHEME), (e: unknown) => e instanceof ImageError && e.kind === 'input' && pattern.test(e.message) && e.message.includes(path.basename(file)));
    });
  }

  it('refuses an entry whose bytes do not match its CRC-32', async () => {
    const file = wheel([META, ['demo_pkg/__init__.py', 'CORRUPTME = 1\n']], true);
    await assert.rejects(wheelEntries(file, SCHEME), /has a damaged entry "demo_pkg\/__init__\.py" \(its CRC-32 does not match\)/);
  });

  it('refuses a file that is not a zip', async () => {
    const file = path.join(dir, 'broken-1.0-py3-none-any.whl');
    fs.writeFileSync(file, 'not a zip');
    await assert.rejects(wheelEntries(file, SCHEME), /broken-1\.0-py3-none-any\.whl in the wheel-house is not a valid zip file/);
  });
});
