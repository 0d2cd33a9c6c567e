// UI tests of run results through a real browser (code-server + Chromium): two recorded runs
// of one notebook (C changed, `load` reused from the first) read apart in the Runs view; a
// click opens the run details (steps with time and cache origin, passed values, metrics,
// parameters, logs); selecting both and "Compare Runs" shows the table with the difference
// highlighted and a chart per metric, readable in dark, light and high-contrast themes.
// Screenshots: test-results/screenshots/r*-*.png (look at them).

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { startCodeServer, type CodeServer } from '../extension/codeServer';
import { writeTwoRuns } from '../support/runRecords';
import { closeAfterSuite, openBrowser, Workbench } from './workbench';

describe('Run results in the browser: details and comparison', function () {
  this.timeout(240_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let wb: Workbench;

  before(async () => {
    server = await startCodeServer();
    writeTwoRuns(path.join(server.workspace, '.flowbook', 'runs'), path.join(server.workspace, 'pipeline.ipynb'));
    ({ browser, page, wb } = await openBrowser(server));
  });

  closeAfterSuite('r', () => ({ wb, browser, server }));

  const runRow = (id: string) => page.locator('.pane-body .monaco-list-row', { hasText: id.slice(-4) === 'bbbb' ? 'C=0.1' : '0.9912' });

  it('shows each run\'s changed parameters and metrics in the Runs view', async () => {
    await wb.openFile('pipeline.ipynb');
    await page.locator('.cell-statusbar-container .cell-status-item', { hasText: 'load' }).first().waitFor({ timeout: 90_000 });
    await wb.runCommand('Flowbook: Focus on Runs View');
    const newer = runRow('bbbb');
    await newer.waitFor({ timeout: 60_000 });
    const text = await newer.innerText();
    assert.match(text, /C=0\.1/, 'the parameter changed since the previous run');
    assert.match(text, /logreg_auc 0\.9874/);
    assert.doesNotMatch(text, /test_size/, 'unchanged parameters stay out of the row');
    await runRow('aaaa').waitFor();
    await wb.shot('r01-runs-view-parameters-metrics');
  });

  let details: Frame;

  it('opens the run details with steps, cache origin, passed values, metrics and parameters', async () => {
    await runRow('bbbb').click();
    details = await wb.webviewFrame('table.steps');
    await details.locator('h1', { hasText: 'run 20261203-091500-bbbb' }).waitFor();
    const load = details.locator('tr.step[data-step="load"]');
    assert.match(await load.innerText(), /cached[\s\S]*reused from 20261203-090000-aaaa/);
    assert.match(await load.innerText(), /data DataFrame 569×31 \(mean radius, mean texture, mean perimeter, mean area, …\) · 48 kB/);
    assert.match(await details.locator('tr.step[data-step="train"]').innerText(), /4\.1 s[\s\S]*model LogisticRegression\(C=0\.1, max_iter=500\) · 1\.9 kB/);
    assert.match(await details.locator('table.kv tr.changed').innerText(), /C\s+0\.1\s+changed/);
    assert.match(await details.locator('section', { hasText: 'Metrics' }).first().innerText(), /logreg_auc\s+0\.9874/);
    await wb.shot('r02-run-details');
  });

  it('opens a cached step\'s log from the run that produced it', async () => {
    await details.locator('tr.step[data-step="load"] a', { hasText: 'Log (producing run)' }).click();
    await page.locator('.tabs-container .tab', { hasText: 'load.log' }).waitFor({ timeout: 30_000 });
    // The cached step did not run in this run: the log is the one of the run that produced its data.
    await page.locator('.monaco-editor .view-line', { hasText: 'load says hello from run 20261203-090000-aaaa' }).first().waitFor();
  });

  let compare: Frame;

  it('compares the two selected runs: a table with the difference highlighted and a chart per metric', async () => {
    await wb.runCommand('Flowbook: Focus on Runs View');
    await runRow('aaaa').click();
    await runRow('bbbb').click({ modifiers: ['Control'] });
    await runRow('bbbb').click({ button: 'right' });
    const item = page.locator('.monaco-menu .action-label', { hasText: /^Compare Runs$/ });
    await item.click();
    // Right after it opens, the context menu may let a click pass; it still has the item
    // focused, so Enter picks it.
    if (await item.isVisible()) await page.keyboard.press('Enter');
    compare = await wb.webviewFrame('table.compare');
    await compare.locator('.chart canvas').nth(1).waitFor();
    const differing = await compare.locator('table.compare tr.differs').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { name: string } }).dataset.name));
    assert.deepEqual(differing, ['C', 'accuracy', 'logreg_auc']);
    assert.match(await compare.locator('tr[data-name="test_size"]').innerText(), /0\.25\s+0\.25/);
    assert.equal(await compare.locator('tr[data-name="test_size"].differs').count(), 0);
    assert.deepEqual(await compare.locator('.chart').evaluateAll((c) => c.map((x) => (x as unknown as { dataset: { metric: string } }).dataset.metric)), ['accuracy', 'logreg_auc']);
    assert.match(await compare.locator('.chart[data-metric="logreg_auc"] canvas').getAttribute('aria-label') ?? '', /20261203-090000-aaaa 0\.9912, 20261203-091500-bbbb 0\.9874/);
    await wb.shot('r03-compare-dark');
  });

  const themes = [
    { label: 'Light Modern', workbench: 'vs', body: 'vscode-light', shot: 'r04-compare-light' },
    { label: 'Dark High Contrast', workbench: 'hc-black', body: 'vscode-high-contrast', shot: 'r05-compare-high-contrast' },
  ];
  for (const theme of themes) {
    it(`draws the comparison readably in the ${theme.label} theme`, async () => {
      await wb.setTheme(theme.label, theme.workbench);
      await compare.locator(`body.${theme.body}`).waitFor();
      await compare.locator('.chart canvas').nth(1).waitFor();
      const colours = await compare.locator('table.compare tr.differs th').first().evaluate((el) => {
        const w = globalThis as unknown as { getComputedStyle(e: unknown): { color: string; backgroundColor: string }; document: { body: unknown } };
        return { text: w.getComputedStyle(el).color, background: w.getComputedStyle(w.document.body).backgroundColor };
      });
      assert.notEqual(colours.text, colours.background);
      await wb.shot(theme.shot);
    });
  }
});
