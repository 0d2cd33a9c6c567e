// ESLint: typed TypeScript rules, plus the architecture rules: only the VS Code rooms
// (src/extension, src/views, src/workbench) may import `vscode`, and among them the
// dependency runs one way: extension → views → workbench (the shared models).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noVscode = {
  'no-restricted-imports': ['error', {
    paths: [{ name: 'vscode', message: 'Core folders stay free of VS Code: move this to src/extension or src/views.' }],
  }],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', 'test/fixtures/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  { files: ['src/argo/**', 'src/converter/**', 'src/runner/**', 'src/cluster/**', 'src/images/**', 'src/cli/**', 'src/verify/**', 'src/webview/**'], rules: noVscode },
  { files: ['src/extension/**', 'src/views/**', 'src/workbench/**'], rules: { 'no-console': 'error' } },
  {
    files: ['src/views/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/extension/**'], message: 'Views render models from src/workbench; the extension glue depends on views, not the other way.' }] }] },
  },
  {
    files: ['src/workbench/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/extension/**', '**/views/**'], message: 'src/workbench holds the models both the extension and the views use: it depends on neither.' }] }] },
  },
);
