import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        Request: 'readonly',
        Response: 'readonly',
        Headers: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  {
    files: ['src/emulator/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/client/**', '**/engine/**', '**/cli/**', '**/service/**'], message: 'The emulator imports only zoho/.' }] }],
    },
  },
  {
    files: ['src/client/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/emulator/**', '**/engine/**', '**/cli/**', '**/service/**'], message: 'The client imports only zoho/.' }] }],
    },
  },
  {
    files: ['src/engine/**'],
    ignores: ['src/engine/zoho-adapter.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/client/**', '**/emulator/**', '**/cli/**', '**/service/**'], message: 'The engine reaches Zoho through its port (port.ts); only zoho-adapter.ts imports the client.' }] }],
    },
  },
  {
    files: ['src/engine/zoho-adapter.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/emulator/**', '**/cli/**', '**/service/**'], message: 'zoho-adapter.ts adapts the client only.' }] }],
    },
  },
  {
    files: ['src/zoho/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/emulator/**', '**/client/**', '**/engine/**', '**/cli/**', '**/service/**', 'node:*'], message: 'zoho/ is pure: types, tables, no I/O.' }] }],
    },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
