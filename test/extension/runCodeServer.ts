// Runs the integration suite (out/test/extension/suite) inside code-server's real extension
// host: starts code-server on a free loopback port, opens the workbench in headless
// Chromium with the development-extension and tests payload, streams the suite's log, and
// fails when the results file is missing or reports failures. Appends `passed failed` to
// $FLOWBOOK_TEST_COUNTS like the mocha reporter does, for scripts/test-all.sh.
//
//   node out/test/extension/runCodeServer.js

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, launchChromium, startCodeServer, type CodeServer } from './codeServer';
import type { SuiteResults } from './suite/index';

const TIMEOUT_MS = Number(process.env.FLOWBOOK_EXT_TEST_TIMEOUT_MS ?? 15 * 60_000);

async function main(): Promise<number> {
  const started = Date.now();
  let server: CodeServer | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let results: SuiteResults | undefined;
  let streamed = 0;
  let logFile = '';
  const stream = () => {
    if (!logFile || !fs.existsSync(logFile)) return;
    const text = fs.readFileSync(logFile, 'utf8');
    if (text.length > streamed) {
      process.stdout.write(text.slice(streamed));
      streamed = text.length;
    }
  };
  try {
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-ext-test-'));
    const resultsFile = path.join(resultsDir, 'results.json');
    logFile = path.join(resultsDir, 'suite.log');
    server = await startCodeServer({
      env: {
        FLOWBOOK_EXT_TEST_RESULTS: resultsFile,
        FLOWBOOK_EXT_TEST_LOG: logFile,
        ...(process.env.FLOWBOOK_EXT_TEST_GREP ? { FLOWBOOK_EXT_TEST_GREP: process.env.FLOWBOOK_EXT_TEST_GREP } : {}),
      },
    });
    console.log(`code-server ${server.port} ready in ${Date.now() - started} ms; workspace ${server.workspace}`);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
    await page.goto(server.url([
      ['extensionDevelopmentPath', `vscode-remote://${REPO}`],
      ['extensionTestsPath', `vscode-remote://${path.join(REPO, 'out/test/extension/suite/index')}`],
    ]));
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
      stream();
      if (fs.existsSync(resultsFile)) {
        results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SuiteResults;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    stream();
    fs.rmSync(resultsDir, { recursive: true, force: true });
  } catch (err) {
    console.error(`extension tests: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    const output = server?.output() ?? '';
    await server?.stop();
    if (!results && output) console.error(`--- code-server output ---\n${output.slice(-5000)}`);
  }

  const counts = process.env.FLOWBOOK_TEST_COUNTS;
  if (!results) {
    console.error('extension tests: the suite wrote no results (did the extension host start? see above)');
    if (counts) fs.appendFileSync(counts, '0 1\n');
    return 1;
  }
  const failed = results.failures + results.pending;
  if (counts) fs.appendFileSync(counts, `${results.passes} ${failed}\n`);
  console.log(`\nextension tests in code-server: ${results.passes} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)`);
  for (const [name, value] of Object.entries(results.metrics)) console.log(`  ${name}: ${value}`);
  return failed === 0 && results.passes > 0 ? 0 : 1;
}

void main().then((code) => process.exit(code));
