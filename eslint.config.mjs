// ESLint: typed TypeScript rules, plus the architecture rule that only the VS Code glue
// (src/extension, src/views) may import `vscode`.
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
  { files: ['src/extension/**', 'src/views/**'], rules: { 'no-console': 'error' } },
);
