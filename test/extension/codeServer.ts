// A real VS Code for the extension tests: code-server (VS Code 1.100.3's workbench and
// extension host, installed by scripts/install-code-server.sh into .cache/code-server),
// started on a free loopback port with a throw-away user-data folder and workspace, and
// Debian's Chromium driven by playwright-core as its client. Everything started here is
// stopped by `stop()` (code-server runs in its own process group).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The repository root, from out/test/extension/ or test/extension/. */
export const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');
export const CODE_SERVER = path.join(REPO, '.cache/code-server/node_modules/.bin/code-server');
export const CHROMIUM = process.env.FLOWBOOK_CHROMIUM ?? '/usr/bin/chromium';
export const FIXTURE_WORKSPACE = path.join(REPO, 'test/fixtures/extension/workspace');

export interface CodeServer {
  port: number;
  /** Workspace folder (a fresh copy of the fixtures). */
  workspace: string;
  /** Temporary folder holding the workspace, user data and logs. */
  root: string;
  /** The workbench URL with the given payload (`[name, value]` pairs). */
  url(payload?: [string, string][]): string;
  /** code-server's own output, for failure reports. */
  output(): string;
  stop(): Promise<void>;
}

/** Fails with what to do when code-server or Chromium is missing. */
export function checkPrerequisites(): void {
  if (!fs.existsSync(CODE_SERVER)) {
    throw new Error(`code-server is not installed at ${CODE_SERVER}. Run: bash scripts/install-code-server.sh`);
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}. Run: apt-get install -y chromium (or set FLOWBOOK_CHROMIUM)`);
  }
  if (!fs.existsSync(path.join(REPO, 'dist/extension.js')) || !fs.existsSync(path.join(REPO, 'dist/webview.js'))) {
    throw new Error('The extension is not built (dist/ is missing). Run: npx webpack --mode development');
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** User settings for the test profile: quiet, no network, Flowbook pointed at Debian's Python. */
export const TEST_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  'notebook.confirmDeleteRunningCell': false,
  'chat.commandCenter.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  // The fixture notebooks use only the standard library; Debian's interpreter is always there.
  'flowbook.pythonInterpreter': '/usr/bin/python3',
  'flowbook.parallelism': 2,
};

export interface StartOptions {
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** .vsix files to install into the server's extensions folder before it starts. */
  install?: string[];
}

export async function startCodeServer(options: StartOptions = {}): Promise<CodeServer> {
  checkPrerequisites();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-cs-'));
  const workspace = path.join(root, 'workspace');
  fs.cpSync(FIXTURE_WORKSPACE, workspace, { recursive: true });
  const userData = path.join(root, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...TEST_SETTINGS, ...options.settings }, null, 2));
  for (const vsix of options.install ?? []) {
    const result = spawnSync(CODE_SERVER, ['--extensions-dir', path.join(root, 'extensions'), '--user-data-dir', userData, '--install-extension', vsix], {
      encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_CONFIG_HOME: path.join(root, 'xdg-config'), XDG_DATA_HOME: path.join(root, 'xdg-data') },
    });
    if (result.status !== 0) throw new Error(`code-server could not install ${vsix}:\n${result.stdout}\n${result.stderr}`);
  }
  const port = await freePort();
  const config = path.join(root, 'config.yaml');
  fs.writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);

  const args = [
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--user-data-dir', userData,
    '--extensions-dir', path.join(root, 'extensions'),
    workspace,
  ];
  let output = '';
  const child: ChildProcess = spawn(CODE_SERVER, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, XDG_CONFIG_HOME: path.join(root, 'xdg-config'), XDG_DATA_HOME: path.join(root, 'xdg-data') },
  });
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const server: CodeServer = {
    port,
    workspace,
    root,
    url(payload = []) {
      const query = new URLSearchParams({ folder: workspace });
      if (payload.length > 0) query.set('payload', JSON.stringify(payload));
      return `http://127.0.0.1:${port}/?${query.toString()}`;
    },
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
        if ((await Promise.race([exited, timeout])) === 'timeout') {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        }
      }
      if (!process.env.FLOWBOOK_KEEP_TMP) fs.rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    await waitForHealth(port, child, () => output);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function waitForHealth(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with code ${child.exitCode}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer on 127.0.0.1:${port} within 60 s:\n${output()}`);
}

/** The extension under development (this repository) as a workbench payload. */
export function devPayload(extra: [string, string][] = []): [string, string][] {
  // `vscode-remote://` + an absolute path: the remote authority is code-server itself.
  return [['extensionDevelopmentPath', `vscode-remote://${REPO}`], ...extra];
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** Opens the workbench in a new page of the given size and waits until it has loaded. */
export async function openWorkbench(browser: Browser, url: string, size = { width: 1440, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  return page;
}
