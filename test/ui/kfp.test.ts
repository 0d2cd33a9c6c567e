// UI test of the Kubeflow Pipelines side through a real browser (code-server + Chromium),
// against the SIMULATED KFP API server of test/sim/kfpServer.ts started in this process:
// "Run Pipeline on Kubeflow" from the Command Palette, then the run in the Runs view's
// "Kubeflow Pipelines" section with its steps and metrics (read from the simulated ML
// Metadata), the cells' "… on Kubeflow" chips, and the Kubeflow Pipelines view with the
// experiment. Screenshots go to test-results/screenshots/k01-kfp-runs.png and
// k02-kubeflow-view.png (look at them).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startCodeServer, type CodeServer } from '../extension/codeServer';
import { SimulatedKfp } from '../sim/kfpServer';
import { closeAfterSuite, openBrowser, Workbench, exactly } from './workbench';

const NS = 'team-a';
const TOKEN = 'alice-token-0123456789';

describe('Flowbook on Kubeflow Pipelines in the browser (simulated KFP)', function () {
  this.timeout(240_000);
  let sim: SimulatedKfp;
  let dir = '';
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let wb: Workbench;

  before(async () => {
    sim = await SimulatedKfp.start({ multiUser: true, prefix: '/pipeline', taskMetrics: (task) => (task === 'evaluate' ? { accuracy: 0.875, roc_auc: 0.9125 } : undefined) });
    sim.addUser('alice@example.com', TOKEN, [NS]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-ui-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    server = await startCodeServer({
      settings: { 'flowbook.kfp.endpoint': `${sim.url}/pipeline`, 'flowbook.kfp.namespace': NS, 'flowbook.kfp.tokenFile': tokenFile },
    });
    ({ browser, page, wb } = await openBrowser(server));
  });

  closeAfterSuite('k', () => ({ wb, browser, server }));

  after(async () => {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the notebook on Kubeflow and shows the run with its steps and metrics in the Runs view', async () => {
    await wb.openFile('pipeline.ipynb');
    await page.locator('.cell-list-container .code-cell-row').first().waitFor({ timeout: 60_000 });
    // The analysis has run when the step chips show.
    await page.locator('.cell-statusbar-container .cell-status-item', { hasText: exactly('load') }).first().waitFor({ timeout: 60_000 });
    await wb.runCommand('Flowbook: Run Pipeline on Kubeflow');
    // The default image lacks cloudpickle, so a warning toast says so; the start message may then
    // stay in the notification centre rather than pop up: look for it there.
    await page.locator('.notifications-toasts', { hasText: /python:3\.12-slim, which lacks cloudpickle/ }).first().waitFor({ timeout: 60_000 });
    for (let i = 0; i < 60 && sim.runs.size === 0; i++) await page.waitForTimeout(500);
    assert.equal(sim.runs.size, 1, 'one run was created');
    await wb.runCommand('Notifications: Show Notifications');
    await page.locator('.notifications-center', { hasText: /Started run ".*" in experiment ".*" on Kubeflow/ }).first().waitFor({ timeout: 30_000 });
    await wb.shot('k00-kfp-started');
    await wb.runCommand('Notifications: Hide Notifications');

    await wb.runCommand('Flowbook: Focus on Runs View');
    // Room for the view: fold the others.
    for (const title of ['Pipeline', 'Inference Services', 'Kubeflow Pipelines']) {
      const header = page.locator('.pane-header', { has: page.locator('h3.title', { hasText: exactly(title) }) }).first();
      if ((await header.count()) > 0 && (await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    await page.locator('.pane-body .monaco-list-row', { has: page.locator('.label-name', { hasText: exactly('Kubeflow Pipelines') }) }).first().waitFor({ timeout: 30_000 });
    // KFP has no watch: Refresh until the run has finished and its metrics are read.
    const row = page.locator('.pane-body .monaco-list-row', { hasText: /succeeded · 3\/3 .*accuracy 0\.875/ }).first();
    for (let i = 0; i < 30 && (await row.count()) === 0; i++) {
      await wb.runCommand('Flowbook: Refresh Runs');
      await page.waitForTimeout(1000);
    }
    await row.waitFor({ timeout: 30_000 });
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
    for (const step of ['load', 'train', 'evaluate']) {
      await page.locator('.pane-body .monaco-list-row', { has: page.locator('.label-name', { hasText: exactly(step) }) }).first().waitFor();
    }
    await page.locator('.cell-statusbar-container', { hasText: 'Succeeded on Kubeflow' }).first().waitFor({ timeout: 30_000 });
    await wb.shot('k01-kfp-runs');
  });

  it('the Kubeflow Pipelines view shows the pipeline with its versions and the experiment with its run count, not the runs again', async () => {
    await wb.runCommand('Flowbook: Focus on Kubeflow Pipelines View');
    await page.locator('.pane-body .monaco-list-row', { hasText: /1 run$/ }).first().waitFor({ timeout: 30_000 });
    await page.locator('.pane-body .monaco-list-row', { hasText: /1 version$/ }).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.pane-body .monaco-list-row', { hasText: /Succeeded · 3\/3/ }).count(), 0, 'no run rows in the Kubeflow view');
    await wb.shot('k02-kubeflow-view');
  });
});
