// UI tests of the editor through a real browser (code-server + Chromium): step colours on
// cells and graph nodes; an untagged notebook gets one quiet offer and nothing else, and the
// per-notebook switch turns Flowbook on and off; without a kubeconfig the status bar says
// "no cluster", Run on Cluster explains where Flowbook looked, and a kubeconfig picked in the
// file dialog connects. Screenshots: test-results/screenshots/e*-*.png (look at them).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startCodeServer, type CodeServer } from '../extension/codeServer';
import { closeAfterSuite, openBrowser, Workbench, exactly } from './workbench';

const UNTAGGED = {
  cells: [
    { cell_type: 'markdown', id: 'm0', metadata: {}, source: ['# Exploration'] },
    { cell_type: 'code', execution_count: null, id: 'c1', metadata: { tags: ['hide-input'] }, outputs: [], source: ['rows = [1, 2, 3]'] },
    { cell_type: 'code', execution_count: null, id: 'c2', metadata: {}, outputs: [], source: ['total = sum(rows)\n', 'print(total)'] },
  ],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  nbformat: 4,
  nbformat_minor: 5,
};

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: demo
clusters:
- name: demo
  cluster: { server: "https://127.0.0.1:9" }
contexts:
- name: demo
  context: { cluster: demo, user: demo, namespace: team-a }
users:
- name: demo
  user: { token: not-a-real-token }
`;

describe('The editor in the browser: step colours, untagged notebooks, no cluster', function () {
  this.timeout(240_000);
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let wb: Workbench;

  before(async () => {
    // No kubeconfig anywhere: KUBECONFIG names a file that does not exist.
    server = await startCodeServer({ env: { KUBECONFIG: '/nonexistent/flowbook-test-kubeconfig' } });
    fs.writeFileSync(path.join(server.workspace, 'exploration.ipynb'), JSON.stringify(UNTAGGED, null, 1));
    fs.mkdirSync(path.join(server.workspace, 'kube'));
    fs.writeFileSync(path.join(server.workspace, 'kube', 'demo-config'), KUBECONFIG);
    ({ browser, page, wb } = await openBrowser(server));
  });

  closeAfterSuite('e', () => ({ wb, browser, server }));

  const chips = () => page.locator('.cell-statusbar-container .cell-status-item');
  /** A button of the visible notebook's toolbar (other open notebooks keep theirs in the page, hidden). */
  const toolbarAction = (label: string) => page.locator(`.notebook-toolbar-container .action-item a[aria-label="${label}"]`).filter({ visible: true });

  it('gives each step a colour: the step name on its first cell, a stripe on its graph node', async () => {
    await wb.openFile('pipeline.ipynb');
    await chips().filter({ hasText: exactly('load') }).first().waitFor({ timeout: 90_000 });
    // The step name is drawn after the first line of a step's first cell (CSS generated content).
    const names = async () => page.locator('.view-line span').evaluateAll((spans) => spans
      .map((el) => (globalThis as unknown as { getComputedStyle(e: unknown, pseudo: string): { content: string } }).getComputedStyle(el, '::after').content)
      .filter((c) => c.includes('◆ step')));
    const drawn = async () => {
      const found = await names();
      return ['load', 'train', 'evaluate'].every((s) => found.some((c) => c.includes(`◆ step ${s}`))) ? found : undefined;
    };
    const deadline = Date.now() + 30_000;
    let found = await drawn();
    while (!found && Date.now() < deadline) {
      await page.waitForTimeout(250);
      found = await drawn();
    }
    assert.ok(found, `each step's first cell shows its name: ${JSON.stringify(await names())}`);
    await wb.shot('e01-step-colours');
    await wb.runCommand('Flowbook: Show Pipeline Graph');
    const graph = await wb.webviewFrame('#canvas .node');
    const classes = await graph.locator('.node').evaluateAll((nodes) => nodes.map((n) => (n as unknown as { getAttribute(a: string): string }).getAttribute('class')));
    assert.deepEqual(classes.map((c) => /step-colour-(\d)/.exec(c)?.[1]), ['0', '1', '2'], `each node has its step's colour: ${classes.join(' | ')}`);
    await wb.shot('e02-graph-step-colours');
    // Close the notebook and its graph: a graph left open keeps the keyboard and the Quick Open history.
    await wb.runCommand('View: Close All Editor Groups');
    await page.locator('.editor-group-container .tab').first().waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('shows an untagged notebook one quiet offer and nothing else', async () => {
    await wb.openFile('exploration.ipynb');
    const offer = toolbarAction('Make This Notebook a Pipeline');
    await offer.waitFor({ timeout: 90_000 });
    assert.equal(await chips().filter({ hasText: /no step|main/ }).filter({ visible: true }).count(), 0, 'no chips under the cells');
    assert.equal(await toolbarAction('Run Pipeline Locally, Outside the Kernel').count(), 0, 'no pipeline toolbar');
    await wb.runCommand('Flowbook: Focus on Pipeline View');
    await page.locator('.welcome-view-content', { hasText: 'This notebook is not a Flowbook pipeline' }).waitFor();
    await wb.shot('e03-untagged-notebook');
  });

  it('makes the notebook a pipeline from the offer, and turns Flowbook off again', async () => {
    await toolbarAction('Make This Notebook a Pipeline').click();
    await chips().filter({ hasText: exactly('main') }).first().waitFor({ timeout: 30_000 });
    await toolbarAction('Run Pipeline Locally, Outside the Kernel').waitFor();
    await wb.shot('e04-made-a-pipeline');
    await wb.runCommand('Flowbook: Turn Flowbook Off for This Notebook');
    await toolbarAction('Make This Notebook a Pipeline').waitFor({ timeout: 30_000 });
    await chips().filter({ hasText: exactly('main') }).filter({ visible: true }).first().waitFor({ state: 'hidden', timeout: 30_000 });
  });

  it('shows "no cluster" in the status bar, and Run on Cluster says where it looked and offers a picker', async () => {
    const status = page.locator('.statusbar-item', { hasText: 'no cluster' });
    await status.waitFor({ timeout: 30_000 });
    await wb.openFile('pipeline.ipynb');
    const button = toolbarAction('Run Pipeline on Cluster');
    await button.waitFor({ timeout: 30_000 });
    await button.click();
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Flowbook needs a kubeconfig to run the pipeline on a cluster' });
    await toast.waitFor({ timeout: 30_000 });
    assert.match(await toast.innerText(), /KUBECONFIG|kubeconfig/);
    await toast.locator('.monaco-button', { hasText: 'Open Settings' }).waitFor();
    await wb.shot('e05-run-on-cluster-without-kubeconfig');
    await toast.locator('.monaco-button', { hasText: 'Select Kubeconfig File…' }).click();
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    const file = path.join(server.workspace, 'kube', 'demo-config');
    const listed = page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: exactly('demo-config') }) });
    const accept = page.locator('.quick-input-widget .monaco-button', { hasText: 'Use This Kubeconfig' });
    const selected = page.locator('.statusbar-item', { hasText: /demo/ });
    // The dialog opens on the workspace folder and writes it into the box as it starts: type the
    // rest once it is there, as a user does (a path filled in earlier got the folder put before it).
    for (let i = 0; i < 50 && !(await input.inputValue()).startsWith(server.workspace); i++) await page.waitForTimeout(200);
    const start = await input.inputValue();
    if (file.startsWith(start)) {
      await input.press('End');
      await input.pressSequentially(file.slice(start.length));
    }
    for (let attempt = 1; ; attempt++) {
      // The file dialog completes the path as it is typed and can put its folder back in the box
      // while it lists the folder: type the path again until the box holds it and the list shows the file.
      if ((await input.inputValue()) !== file) await input.fill(file);
      await listed.waitFor();
      if (attempt === 1) await wb.shot('e06-kubeconfig-picker');
      if ((await input.inputValue()) === file) await accept.click();
      try {
        await selected.waitFor({ timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt === 3) throw new Error(`the dialog did not take ${file} (its box holds ${await input.inputValue().catch(() => '?')})`, { cause: e });
      }
    }
    assert.equal(await page.locator('.statusbar-item', { hasText: 'no cluster' }).count(), 0);
    await wb.shot('e07-kubeconfig-selected');
  });
});
