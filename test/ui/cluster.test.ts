// UI tests of the cluster side through a real browser (code-server + Chromium), against the
// SIMULATED cluster of test/sim started in this process: the status bar item, "Run on
// Cluster" from the notebook toolbar with its parameters form (a bad value, then every
// preflight problem at once, then a submit), the Runs view's cluster section with the live
// run graph, and the Inference Services view. Screenshots go to test-results/screenshots/
// (c*-*.png: look at them).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { ClusterClient } from '../../src/cluster/client';
import { ClusterConnection } from '../../src/cluster/connection';
import { INFERENCE_SERVICES } from '../../src/cluster/resources';
import { REPO, devPayload, launchChromium, openWorkbench, startCodeServer, type CodeServer } from '../extension/codeServer';
import { startSim, type SimHarness } from '../sim/harness';

const SHOTS = path.join(REPO, 'test-results', 'screenshots');
const NS = 'team-a';

describe('Flowbook on a cluster in the browser (simulated cluster)', function () {
  this.timeout(240_000);
  let h: SimHarness;
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    h = await startSim({ namespace: NS });
    server = await startCodeServer({ settings: { 'flowbook.kubeconfig': h.kubeconfig } });
    browser = await launchChromium();
    page = await openWorkbench(browser, server.url(devPayload()));
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await shot(`c-failed-${this.currentTest.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await h?.close();
  });

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  function exactly(text: string): RegExp {
    return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
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

  /** The frame of a webview whose page has `selector` (webviews are iframes in iframes). */
  async function webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of page.frames()) {
        if (frame.isDetached()) continue;
        if (await frame.$(selector).catch(() => null)) return frame;
      }
      await page.waitForTimeout(200);
    }
    throw new Error(`no webview shows ${selector}`);
  }

  it('shows the context and namespace in the status bar', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('pipeline.ipynb');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'pipeline.ipynb' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.cell-list-container .code-cell-row').first().waitFor({ timeout: 60_000 });
    // Until the client loads, the probe names the context; the Runs view shown loads it.
    await page.locator('.statusbar-item', { hasText: 'sim' }).first().waitFor({ timeout: 30_000 });
    await runCommand('Flowbook: Focus on Runs View');
    await page.locator('.statusbar-item', { hasText: `sim / ${NS}` }).first().waitFor({ timeout: 30_000 });
    await page.locator('.pane-body .monaco-list-row', { hasText: `Cluster: sim / ${NS}` }).first().waitFor({ timeout: 30_000 });
    await shot('c01-status-bar-and-runs-view');
  });

  it('opens the parameters form from the notebook toolbar and shows a bad value next to its field', async () => {
    const button = page.locator('.notebook-toolbar-container .action-item a[aria-label="Run Pipeline on Cluster"]');
    await button.waitFor({ timeout: 30_000 });
    await button.click();
    const form = await webviewFrame('#fields vscode-textfield');
    await form.locator('#p-seed').waitFor();
    assert.equal(await form.locator('#p-n').evaluate((el) => (el as unknown as { value: string }).value), '20', 'the form is prefilled from the notebook');
    await form.locator('#target', { hasText: `namespace ${NS}` }).waitFor();
    await shot('c02-run-form');
    await form.locator('#p-n input').fill('twenty');
    await form.locator('#submit').click();
    await form.locator('vscode-form-helper.error', { hasText: /Parameter n is a number/ }).waitFor({ timeout: 30_000 });
    await shot('c03-run-form-bad-value');
  });

  it('lists every preflight problem at once in the form', async () => {
    const form = await webviewFrame('#fields vscode-textfield');
    // The user may read but not create workflows, nor read pod logs.
    h.sim.setRules('admin', [
      { verbs: ['get', 'list', 'watch'], groups: ['argoproj.io', 'apiextensions.k8s.io', 'serving.kserve.io'], resources: ['*'] },
      { verbs: ['get', 'list', 'watch'], groups: [''], resources: ['pods', 'namespaces'] },
      { verbs: ['create'], groups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
    ]);
    try {
      await form.locator('#p-n input').fill('5');
      await form.locator('#submit').click();
      await form.locator('#problems li').first().waitFor({ timeout: 30_000 });
      const problems = await form.locator('#problems li').allTextContents();
      assert.ok(problems.some((p) => /may not create workflows\.argoproj\.io in namespace "team-a"/.test(p)), problems.join('\n'));
      assert.ok(problems.some((p) => /may not get pods\/log in namespace "team-a"/.test(p)), `every problem at once: ${problems.join('\n')}`);
      await shot('c04-run-form-preflight-problems');
      assert.equal(h.sim.store.list('argoproj.io/workflows', NS).length, 0, 'nothing was submitted');
    } finally {
      h.sim.setRules('admin', 'all');
    }
  });

  it('submits from the form; the Runs view lists the run and the graph turns green', async () => {
    const form = await webviewFrame('#fields vscode-textfield');
    await form.locator('#submit').click();
    const graph = await webviewFrame('#canvas svg .node', 60_000);
    await graph.locator('.node.status-succeeded').nth(2).waitFor({ timeout: 60_000 });
    assert.equal(await graph.locator('.node').count(), 3);
    const runs = h.sim.store.list('argoproj.io/workflows', NS);
    assert.equal(runs.length, 1, 'one run was submitted');
    const name = runs[0]?.metadata.name ?? '';
    await graph.locator('#subtitle', { hasText: `run ${name} · succeeded` }).waitFor();
    await runCommand('Flowbook: Focus on Runs View');
    const row = page.locator('.pane-body .monaco-list-row', { hasText: name }).first();
    await row.waitFor({ timeout: 30_000 });
    await page.locator('.pane-body .monaco-list-row', { hasText: /succeeded · 3\/3/ }).first().waitFor();
    // Expand the run to show its steps.
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
    await page.locator('.pane-body .monaco-list-row', { hasText: 'evaluate' }).first().waitFor();
    await shot('c05-cluster-runs-and-graph');
  });

  it('shows the inference services of the namespace with their state', async () => {
    const client = new ClusterClient(ClusterConnection.open({ kubeconfig: h.kubeconfig, env: {} }));
    await client.create(INFERENCE_SERVICES, NS, {
      apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'iris' },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://models/iris' } } },
    });
    await client.create(INFERENCE_SERVICES, NS, {
      apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'broken' },
      spec: { predictor: { model: { modelFormat: { name: 'xgboost' }, storageUri: 'bad://nowhere/model.bst' } } },
    });
    await runCommand('Flowbook: Focus on Inference Services View');
    // Room for the view: fold the other two.
    for (const title of ['Pipeline', 'Runs']) {
      const header = page.locator('.pane-header', { has: page.locator('h3.title', { hasText: exactly(title) }) }).first();
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const iris = page.locator('.pane-body .monaco-list-row', { hasText: 'iris' }).first();
    await iris.waitFor({ timeout: 30_000 });
    await page.locator('.pane-body .monaco-list-row', { hasText: /Ready · sklearn/ }).first().waitFor({ timeout: 30_000 });
    await page.locator('.pane-body .monaco-list-row', { hasText: /broken/ }).first().waitFor();
    if ((await iris.getAttribute('aria-expanded')) === 'false') await iris.locator('.monaco-tl-twistie').click();
    await page.locator('.pane-body .monaco-list-row', { hasText: `http://iris.${NS}.example.com` }).first().waitFor();
    await page.locator('.pane-body .monaco-list-row', { hasText: 'gs://models/iris' }).first().waitFor();
    const broken = page.locator('.pane-body .monaco-list-row', { hasText: /broken/ }).first();
    if ((await broken.getAttribute('aria-expanded')) === 'false') await broken.locator('.monaco-tl-twistie').click();
    await page.locator('.pane-body .monaco-list-row', { hasText: /PredictorReady.*False/ }).first().waitFor();
    await shot('c06-inference-services');
  });
});
