// Mocha reporter: the usual `spec` output, plus the totals appended to the file named by
// FLOWBOOK_TEST_COUNTS so scripts/test-all.sh can print one `N passed, N failed` line over
// every suite.
import * as fs from 'node:fs';
import Mocha from 'mocha';

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.FLOWBOOK_TEST_COUNTS;
      const stats = runner.stats;
      if (file && stats) {
        fs.appendFileSync(file, `${stats.passes} ${stats.failures + (stats.pending ?? 0)}\n`);
      }
    });
  }
}

export = CountingReporter;
