// The integration suite's entry point, loaded by VS Code's extension host through
// `extensionTestsPath` (code-server, or VS Code via @vscode/test-electron). Runs every
// `*.test.js` next to this file with mocha and writes the results where the launcher reads
// them ($FLOWBOOK_EXT_TEST_RESULTS), streaming a readable log to $FLOWBOOK_EXT_TEST_LOG.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { metrics } from './metrics';

export interface SuiteResults {
  passes: number;
  failures: number;
  pending: number;
  failed: { title: string; error: string }[];
  metrics: Record<string, string>;
}

/** A reporter that writes one line per test to the log file (the extension host has no terminal). */
class FileReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    const log = (line: string) => {
      const file = process.env.FLOWBOOK_EXT_TEST_LOG;
      if (file) fs.appendFileSync(file, `${line}\n`);
      else console.log(line);
    };
    const { EVENT_SUITE_BEGIN, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => { if (suite.title) log(`\n  ${suite.fullTitle()}`); });
    runner.on(EVENT_TEST_PASS, (test: Mocha.Test) => log(`    ✔ ${test.title} (${test.duration ?? 0} ms)`));
    runner.on(EVENT_TEST_PENDING, (test: Mocha.Test) => log(`    - ${test.title} (pending: counts as a failure)`));
    runner.on(EVENT_TEST_FAIL, (test: Mocha.Test, err: Error) => log(`    ✘ ${test.title}\n      ${(err.stack ?? err.message).split('\n').join('\n      ')}`));
  }
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: FileReporter });
  const grep = process.env.FLOWBOOK_EXT_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  const failed: SuiteResults['failed'] = [];
  const stats = await new Promise<Mocha.Stats>((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats ?? { passes: 0, failures: 1, pending: 0 } as Mocha.Stats));
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, (test: Mocha.Test, err: Error) => failed.push({ title: test.fullTitle(), error: err.message }));
  });
  const results: SuiteResults = { passes: stats.passes, failures: stats.failures, pending: stats.pending, failed, metrics: metrics() };
  const file = process.env.FLOWBOOK_EXT_TEST_RESULTS;
  if (file) fs.writeFileSync(file, JSON.stringify(results, null, 2));
  // @vscode/test-electron reads success from the promise.
  if (stats.failures + stats.pending > 0) throw new Error(`${stats.failures + stats.pending} integration tests failed`);
}
