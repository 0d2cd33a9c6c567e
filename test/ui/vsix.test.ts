// The packaged extension: `vsce package` gives a small .vsix without sources or tests, and
// once installed into code-server (no repository, no node_modules next to it) it activates,
// loads the Python grammar from its own dist/ and draws the graph.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO, launchChromium, openWorkbench, startCodeServer, type CodeServer } from '../extension/codeServer';

const SHOTS = path.join(REPO, 'test-results', 'screenshots');

/** Entry names of a zip file, from its central directory (a .vsix is a zip). */
function zipEntries(file: string): string[] {
  const buf = fs.readFileSync(file);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'the .vsix is a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extra + comment;
  }
  return names;
}

describe('the packaged extension (.vsix)', function () {
  this.timeout(300_000);
  let tmp: string;
  let vsix: string;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-vsix-'));
    vsix = path.join(tmp, 'flowbook.vsix');
    execFileSync(path.join(REPO, 'node_modules/.bin/vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', vsix], { cwd: REPO, stdio: 'pipe' });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('is under 5 MB and holds the bundles, the grammar and media, but no sources or tests', () => {
    const size = fs.statSync(vsix).size;
    console.log(`      .vsix size: ${(size / 1024).toFixed(0)} KB`);
    assert.ok(size < 5 * 1024 * 1024, `${size} bytes`);
    const names = zipEntries(vsix);
    for (const needed of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/core.chunk.js', 'extension/dist/webview.js', 'extension/dist/tree-sitter.wasm', 'extension/dist/tree-sitter-python.wasm', 'extension/media/graph.css']) {
      assert.ok(names.includes(needed), `${needed} is packaged`);
    }
    const unwanted = names.filter((n) => /^extension\/(src|test|out|node_modules|\.cache|scripts)\//.test(n) || n.endsWith('.ts') || n.endsWith('.map'));
    assert.deepEqual(unwanted, []);
  });

  it('installs into code-server, activates on a notebook and draws its graph', async () => {
    server = await startCodeServer({ install: [vsix] });
    browser = await launchChromium();
    page = await openWorkbench(browser, server.url());
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('pipeline.ipynb');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'pipeline.ipynb' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.cell-statusbar-container .cell-status-item', { hasText: /^\s*load\s*$/ }).first().waitFor({ timeout: 90_000 });
    await page.locator('.notebook-toolbar-container .action-item a[aria-label="Show Pipeline Graph"]').click();
    const graph = page.frameLocator('iframe.webview.ready[src*="extensionId=flowbook.flowbook"]').frameLocator('#active-frame');
    await graph.locator('.node').nth(2).waitFor({ timeout: 60_000 });
    assert.equal(await graph.locator('.node').count(), 3);
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, '11-installed-vsix.png') });
  });
});
