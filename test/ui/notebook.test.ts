// UI tests through a real browser: code-server's workbench in Debian's Chromium, driven by
// playwright-core. What a data scientist does: open a tagged notebook, read the chips,
// change a step from its chip, run the pipeline from the notebook toolbar and watch the
// graph turn green; the graph survives a reload and reads well in every theme.
// Screenshots go to test-results/screenshots/ (look at them).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { REPO, devPayload, launchChromium, openWorkbench, startCodeServer, type CodeServer } from '../extension/codeServer';

const SHOTS = path.join(REPO, 'test-results', 'screenshots');

describe('Flowbook in the browser (code-server + Chromium)', function () {
  this.timeout(240_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    server = await startCodeServer();
    browser = await launchChromium();
    page = await openWorkbench(browser, server.url(devPayload()));
  });

  afterEach(async function () {
    // A failed step leaves a picture of what the user would have seen.
    if (this.currentTest?.state === 'failed' && page) await shot(`failed-${this.currentTest.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  async function runCommand(title: string): Promise<void> {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: exactly(title) }) }).first();
    await row.waitFor();
    await row.click();
  }

  function exactly(text: string): RegExp {
    return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  }

  /** The graph webview's page (a webview is an iframe inside an iframe). */
  function graphFrame(): FrameLocator {
    return page.frameLocator('iframe.webview.ready[src*="extensionId=flowbook.flowbook"]').frameLocator('#active-frame');
  }

  /** A chip whose whole text is `text` (codicons render as icons, so only the words count). */
  function chip(text: string) {
    return page.locator('.cell-statusbar-container .cell-status-item', { hasText: exactly(text) });
  }

  it('opens a tagged notebook and shows each cell\'s step, role and inputs as chips', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('pipeline.ipynb');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'pipeline.ipynb' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.cell-list-container .code-cell-row').first().waitFor({ timeout: 60_000 });
    await chip('load').first().waitFor({ timeout: 60_000 });
    await chip('← data from load').waitFor();
    await chip('imports').waitFor();
    await chip('pipeline parameters').waitFor();
    await shot('01-notebook-chips');
    assert.equal(await chip('evaluate').count(), 1);
    assert.equal(await page.locator('.cell-statusbar-container .cell-status-item', { hasText: /^← .*threshold from train/ }).count(), 1, 'the evaluate step shows its inputs and their provider');
  });

  it('changes a step from its chip', async () => {
    await chip('load').first().click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await shot('02-set-step-quick-pick');
    await input.fill('ingest');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'New step "ingest"' }).waitFor();
    await page.keyboard.press('Enter');
    await chip('ingest').first().waitFor();
    await chip('← data from ingest').waitFor();
    assert.equal(await chip('load').count(), 0, 'no cell is in step load any more');
    await shot('03-step-changed');
  });

  it('runs the pipeline locally from the notebook toolbar and the graph turns green', async () => {
    const run = page.locator('.notebook-toolbar-container .action-item a[aria-label="Run Pipeline Locally, Outside the Kernel"]');
    await run.waitFor({ timeout: 30_000 });
    await shot('04-toolbar');
    await run.click();
    const graph = graphFrame();
    await graph.locator('.node').first().waitFor({ timeout: 60_000 });
    await graph.locator('.node.status-succeeded').nth(2).waitFor({ timeout: 90_000 });
    assert.equal(await graph.locator('.node').count(), 3);
    assert.equal(await graph.locator('.node.status-succeeded').count(), 3, 'every step succeeded');
    await graph.locator('#subtitle', { hasText: 'succeeded' }).waitFor();
    await shot('05-run-graph-green');
    const csp = await graph.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp ?? '', /default-src 'none'/);
    assert.match(csp ?? '', /script-src 'nonce-[A-Za-z0-9+/=]+'(;|$)/, 'scripts only with the nonce');
    assert.doesNotMatch(csp ?? '', /unsafe-(eval|inline)/);
  });

  it('opens a step\'s logs from its node in the run graph', async () => {
    await graphFrame().locator('.node[data-id="train"]').click();
    await page.locator('.tabs-container .tab', { hasText: 'train.log' }).waitFor({ timeout: 30_000 });
    await page.locator('.monaco-editor .view-line', { hasText: /mean.0\.\d+/ }).first().waitFor();
    await shot('05b-step-logs');
  });

  it('lists the run in the Runs view and the steps in the Pipeline view', async () => {
    await runCommand('Flowbook: Focus on Runs View');
    const runs = page.locator('.pane-body .monaco-list-row', { hasText: 'pipeline.ipynb' });
    await runs.first().waitFor({ timeout: 30_000 });
    await runCommand('Flowbook: Focus on Pipeline View');
    await page.locator('.pane-body .monaco-list-row', { hasText: 'ingest' }).first().waitFor();
    await shot('06-views');
  });

  const themes = [
    { label: 'Light Modern', workbench: 'vs', body: 'vscode-light' },
    { label: 'Dark High Contrast', workbench: 'hc-black', body: 'vscode-high-contrast' },
    { label: 'Light High Contrast', workbench: 'hc-light', body: 'vscode-high-contrast-light' },
  ];
  for (const theme of themes) {
    it(`draws the graph readably in the ${theme.label} theme`, async () => {
      await runCommand('Preferences: Color Theme');
      await page.locator('.quick-input-widget input').fill(theme.label);
      const row = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: exactly(theme.label) }) }).first();
      await row.waitFor();
      await row.click();
      await page.locator(`.monaco-workbench.${theme.workbench}`).waitFor({ timeout: 30_000 });
      const graph = graphFrame();
      await graph.locator(`body.${theme.body}`).waitFor();
      await graph.locator('.node').first().waitFor();
      // Text and outlines take the theme's colours: neither matches the page background.
      const colours = await graph.locator('.node.status-succeeded').first().evaluate((el) => {
        // Runs in the page; the test's TypeScript has no DOM types, so describe what is used.
        const page = globalThis as unknown as { getComputedStyle(e: unknown): { fill: string; stroke: string; backgroundColor: string }; document: { body: unknown } };
        const node = el as unknown as { querySelector(selector: string): unknown };
        return {
          text: page.getComputedStyle(node.querySelector('.label')).fill,
          stroke: page.getComputedStyle(node.querySelector('rect')).stroke,
          background: page.getComputedStyle(page.document.body).backgroundColor,
        };
      });
      assert.notEqual(colours.text, colours.background, `label colour ${colours.text} on ${colours.background}`);
      assert.notEqual(colours.stroke, colours.background);
      await shot(`08-graph-${theme.label.toLowerCase().replace(/\s+/g, '-')}`);
    });
  }
  it('restores the graph after a reload', async () => {
    // Two quirks of VS Code in a browser, not of Flowbook: the workbench saves which editors
    // are open every 5 s when idle (it cannot while the page unloads), so give it that time;
    // and a reloaded webview can be claimed by the previous page's service worker, which no
    // longer serves its files, so unregister it.
    await page.waitForTimeout(7000);
    await page.evaluate('navigator.serviceWorker.getRegistrations().then((rs) => Promise.all(rs.map((r) => r.unregister())))');
    await page.reload();
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    const graph = graphFrame();
    await graph.locator('.node').first().waitFor({ timeout: 90_000 });
    assert.equal(await graph.locator('.node').count(), 3);
    await shot('07-graph-after-reload');
  });

  it('offers the tag commands in the cell menu, and shows the problem a change causes', async () => {
    const cell = page.locator('.cell-list-container .code-cell-row', { has: page.locator('.view-line', { hasText: /threshold.=.model/ }) }).first();
    await cell.locator('.monaco-editor').click();
    await page.keyboard.press('Escape');
    await cell.hover();
    await cell.locator('.cell-title-toolbar a.codicon-toolbar-more').first().click();
    await page.locator('.monaco-menu .action-label', { hasText: exactly('Flowbook') }).hover();
    const skip = page.locator('.monaco-menu .action-label', { hasText: exactly('Mark as Skip') });
    await skip.waitFor();
    for (const title of ['Set Step…', 'Add Upstream Step…', 'Remove Upstream Step…', 'Mark as Imports', 'Set Resources (CPU, Memory, GPU)…', 'Set Image…', 'Clear Flowbook Tags']) {
      assert.equal(await page.locator('.monaco-menu .action-label', { hasText: exactly(title) }).count(), 1, title);
    }
    await shot('09-cell-menu');
    await skip.click();
    await chip('skip').waitFor();
    // evaluate read `threshold` from that cell: now nothing provides it.
    await chip('1 error').waitFor();
    await shot('10-error-chip');
  });
});
