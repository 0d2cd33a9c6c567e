// What the UI tests do to the workbench, in one place: run a command from the palette, take
// a screenshot, find a webview's frame by what its page shows, switch the colour theme.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { devPayload, launchChromium, openWorkbench, REPO, type CodeServer } from '../extension/codeServer';

export const SHOTS = path.join(REPO, 'test-results', 'screenshots');

/** A regular expression matching exactly `text`, give or take surrounding spaces. */
export function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

/** Chromium on `server`'s workbench, with this extension under development. */
export async function openBrowser(server: CodeServer): Promise<{ browser: Browser; page: Page; wb: Workbench }> {
  const browser = await launchChromium();
  const page = await openWorkbench(browser, server.url(devPayload()));
  return { browser, page, wb: new Workbench(page) };
}

/**
 * Registers a UI suite's hooks (call it inside `describe`): a screenshot of each failed test
 * (`PREFIX-failed-TITLE.png`), and the browser and code-server closed after the suite.
 */
export function closeAfterSuite(prefix: string, parts: () => { wb?: Workbench; browser?: Browser; server?: CodeServer }): void {
  afterEach(async function () {
    const { wb } = parts();
    if (this.currentTest?.state === 'failed' && wb) await wb.shot(`${prefix}-failed-${this.currentTest.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
  });
  after(async () => {
    const { browser, server } = parts();
    await browser?.close();
    await server?.stop();
  });
}

export class Workbench {
  constructor(readonly page: Page) {
    fs.mkdirSync(SHOTS, { recursive: true });
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  /**
   * Gives the keyboard back to the workbench: a focused webview (the graph, run details) is an
   * iframe that takes key presses, so F1 or Ctrl+P would reach the page inside it instead.
   */
  async focusWorkbench(): Promise<void> {
    // A string, evaluated in the page: this project's TypeScript has no DOM types.
    await this.page.evaluate("(() => { const a = document.activeElement; if (a && a.tagName === 'IFRAME') a.blur(); })()");
  }

  /** Runs a command by its title from the Command Palette. */
  async runCommand(title: string): Promise<void> {
    await this.focusWorkbench();
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: exactly(title) }) }).first();
    await row.waitFor();
    await this.settled(row);
    await row.click();
  }

  /** The frame of a webview whose page has `selector` (webviews are iframes in iframes). */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (frame.isDetached()) continue;
        if (await frame.$(selector).catch(() => null)) return frame;
      }
      await this.page.waitForTimeout(200);
    }
    throw new Error(`no webview shows ${selector}`);
  }

  /** Picks a colour theme by its label and waits for the workbench to wear it (`vs`, `vs-dark`, `hc-black`, `hc-light`). */
  async setTheme(label: string, workbenchClass: string): Promise<void> {
    await this.runCommand('Preferences: Color Theme');
    await this.page.locator('.quick-input-widget input').fill(label);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: exactly(label) }) }).first();
    await row.waitFor();
    await this.settled(row);
    await row.click();
    await this.page.locator(`.monaco-workbench.${workbenchClass}`).waitFor({ timeout: 30_000 });
  }

  /**
   * Waits until `row` stays where it is for 300 ms: Quick Open first lists editors from the
   * history, then the file search results, and a click during that re-render is lost.
   */
  private async settled(row: Locator): Promise<void> {
    let last = '';
    for (let i = 0; i < 50; i++) {
      const box = await row.boundingBox();
      const now = JSON.stringify(box);
      if (box && now === last) return;
      last = now;
      await this.page.waitForTimeout(300);
    }
  }

  /**
   * Opens a workspace file by name with Quick Open, and returns once its editor is the active
   * tab. A click on a row while the list is still being filled can miss, and the history can
   * offer an editor of the same name (a graph, a run): then the whole Quick Open is tried again.
   */
  async openFile(name: string): Promise<void> {
    const activeTab = this.page.locator('.editor-group-container.active .tab.active', { has: this.page.locator('.label-name', { hasText: exactly(name) }) });
    for (let attempt = 1; ; attempt++) {
      await this.focusWorkbench();
      await this.page.keyboard.press('Control+P');
      await this.page.locator('.quick-input-widget input').fill(name);
      const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: exactly(name) }) }).first();
      await row.waitFor();
      await this.settled(row);
      await row.click();
      try {
        await activeTab.waitFor({ timeout: 10_000 });
        return;
      } catch (e) {
        if (attempt === 3) throw new Error(`Quick Open did not open ${name} after ${attempt} tries: ${(e as Error).message}`, { cause: e });
        await this.page.keyboard.press('Escape');
      }
    }
  }
}
