// Runs the same integration suite in desktop VS Code through @vscode/test-electron, for
// machines that can download VS Code (this project's CI cannot; it uses code-server, see
// runCodeServer.ts). The workspace is a fresh copy of the fixtures.
//
//   node out/test/extension/runElectron.js          (VS Code 1.100.3 by default)
//   FLOWBOOK_VSCODE_VERSION=stable node out/test/extension/runElectron.js

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { FIXTURE_WORKSPACE, REPO, TEST_SETTINGS } from './codeServer';
import type { SuiteResults } from './suite/index';

async function main(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-electron-'));
  const workspace = path.join(root, 'workspace');
  fs.cpSync(FIXTURE_WORKSPACE, workspace, { recursive: true });
  const userData = path.join(root, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(TEST_SETTINGS, null, 2));
  const resultsFile = path.join(root, 'results.json');
  let code = 0;
  try {
    await runTests({
      version: process.env.FLOWBOOK_VSCODE_VERSION ?? '1.100.3',
      extensionDevelopmentPath: REPO,
      extensionTestsPath: path.join(REPO, 'out/test/extension/suite/index'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userData, '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { FLOWBOOK_EXT_TEST_RESULTS: resultsFile },
    });
  } catch (err) {
    console.error(`extension tests (VS Code desktop): ${err instanceof Error ? err.message : String(err)}`);
    code = 1;
  }
  const counts = process.env.FLOWBOOK_TEST_COUNTS;
  if (fs.existsSync(resultsFile)) {
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SuiteResults;
    if (counts) fs.appendFileSync(counts, `${results.passes} ${results.failures + results.pending}\n`);
    for (const [name, value] of Object.entries(results.metrics)) console.log(`  ${name}: ${value}`);
  } else {
    if (counts) fs.appendFileSync(counts, '0 1\n');
    code = 1;
  }
  fs.rmSync(root, { recursive: true, force: true });
  return code;
}

void main().then((code) => process.exit(code));
