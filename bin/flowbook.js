#!/usr/bin/env node
// The `flowbook` command. The TypeScript sources are compiled to out/ by `npm ci`
// (the `prepare` script); run `npm run compile` after editing them.
'use strict';
// A command parses Python in one short burst: V8's optimising wasm tier would spend more time
// compiling the tree-sitter parser in the background than it saves (measured in bench/). Set
// before the parser's wasm is compiled; only this process is affected.
try {
  require('node:v8').setFlagsFromString('--liftoff-only');
} catch {
  // A Node that no longer lets flags change at run time only loses the speed-up.
}
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'out', 'src', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('flowbook: the CLI is not built yet. Run `npm run compile` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(main).main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write('flowbook: internal error: ' + (err && err.stack ? err.stack : String(err)) + '\n');
  process.exitCode = 1;
});
