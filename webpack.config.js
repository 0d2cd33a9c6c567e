// Two bundles: the extension (Node, `vscode` external; the compiler, grammar and runner in a
// lazily loaded chunk) and the graph webview page (browser). The tree-sitter wasm files the
// Python analyser loads are copied next to the extension bundle (the analyser's `wasmDir`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const WASM = ['tree-sitter.wasm', 'tree-sitter-python.wasm'];

/** Copies the grammar's wasm files into dist/ after each build. */
class CopyWasmPlugin {
  apply(compiler) {
    compiler.hooks.afterEmit.tap('CopyWasmPlugin', () => {
      const from = path.dirname(require.resolve('@vscode/tree-sitter-wasm/package.json'));
      fs.mkdirSync(compiler.options.output.path, { recursive: true });
      for (const file of WASM) fs.copyFileSync(path.join(from, 'wasm', file), path.join(compiler.options.output.path, file));
    });
  }
}

const common = (argv) => ({
  mode: argv.mode ?? 'none',
  devtool: argv.mode === 'production' ? false : 'nosources-source-map',
  resolve: {
    extensions: ['.ts', '.js'],
    // Sources import `./x.js` (Node ESM style); resolve it to the TypeScript file.
    extensionAlias: { '.js': ['.ts', '.js'] },
  },
  infrastructureLogging: { level: 'warn' },
  performance: { hints: false },
});

/** @type {(env: unknown, argv: { mode?: string }) => import('webpack').Configuration[]} */
module.exports = (_env, argv) => [
  {
    ...common(argv),
    name: 'extension',
    target: 'node20',
    entry: { extension: './src/extension/extension.ts' },
    output: {
      path: path.resolve(__dirname, 'dist'),
      filename: '[name].js',
      chunkFilename: '[name].chunk.js',
      library: { type: 'commonjs2' },
      // Both bundles share dist/: each build removes only its own stale files.
      clean: { keep: (asset) => asset.startsWith('webview.') },
    },
    // One lazy chunk (core.chunk.js) with everything it needs, rather than split vendors.
    optimization: { splitChunks: false },
    externals: {
      vscode: 'commonjs vscode',
      // Only the analyser's default wasm folder (node_modules) asks for this; the extension
      // passes `wasmDir` (dist/), so the request is left alone rather than bundled.
      '@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm': 'commonjs @vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm',
    },
    module: {
      rules: [{ test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: path.resolve(__dirname, 'tsconfig.json') } } }],
      // The emscripten loader of tree-sitter refers to Node built-ins and its own URL dynamically.
      parser: { javascript: { importMeta: false } },
    },
    // ws (in the cluster chunk, via @kubernetes/client-node) asks for optional native add-ons it does without.
    ignoreWarnings: [{ module: /tree-sitter-wasm/ }, { module: /node_modules[\\/]ws[\\/]/ }],
    node: { __dirname: false, __filename: false },
    plugins: [new CopyWasmPlugin()],
  },
  {
    ...common(argv),
    name: 'webview',
    target: 'web',
    entry: { webview: './src/webview/main.ts', 'webview.runForm': './src/webview/runForm/main.ts', 'webview.results': './src/webview/results/main.ts' },
    output: { path: path.resolve(__dirname, 'dist'), filename: '[name].js', clean: { keep: (asset) => !asset.startsWith('webview.') } },
    module: {
      rules: [{ test: /\.ts$/, exclude: /node_modules/, use: { loader: 'ts-loader', options: { transpileOnly: true, configFile: path.resolve(__dirname, 'src/webview/tsconfig.json') } } }],
    },
  },
];
