import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The web UI (src/service/ui/src) leaves its own tree for types only (the service's shapes, the
 * app's type for hono's client, the engine's), and for the few pure modules it shares with the
 * engine and the service: the chart's layout, the exclusion reasons, zoho's transaction types,
 * the review rows' columns. A file `depth` folders below src/service/ui/src reaches src/service
 * with depth + 2 `../`.
 */
function uiImports(depth) {
  const service = `(\\.\\./){${depth + 2}}`;
  const shared = 'api-types\\.js$|\\.\\./(engine/report/(histogram|exclusion-reasons)|zoho/transaction-types)\\.js$';
  return {
    files: [`src/service/ui/src/${'*/'.repeat(depth)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*'], message: 'The web UI runs in the browser.' },
          { regex: `^${service}(?!${shared})`, allowTypeImports: true, message: 'The web UI reaches the service over HTTP: from outside src/service/ui it imports types only, and the pure modules it shares.' },
        ],
      }],
    },
  };
}

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
    // The web UI runs in the browser (bundled by scripts/build-ui.mjs): browser globals, no node.
    files: ['src/service/ui/src/**'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', location: 'readonly', history: 'readonly', navigator: 'readonly',
        performance: 'readonly', sessionStorage: 'readonly', getComputedStyle: 'readonly', requestAnimationFrame: 'readonly',
        EventSource: 'readonly', ResizeObserver: 'readonly', Node: 'readonly', Element: 'readonly', HTMLElement: 'readonly',
        HTMLInputElement: 'readonly', HTMLSelectElement: 'readonly', HTMLTextAreaElement: 'readonly', Intl: 'readonly',
      },
    },
    rules: { 'no-restricted-globals': ['error', 'process', 'Buffer', 'setImmediate', 'require', '__dirname', '__filename', 'global'] },
  },
  ...[0, 1, 2].map((depth) => uiImports(depth)),
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
    ignores: ['src/engine/zoho-adapter.ts', 'src/engine/budget.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/client/**', '**/emulator/**', '**/cli/**', '**/service/**'], message: 'The engine reaches Zoho through its port (port.ts); only zoho-adapter.ts (and budget.ts, the client\'s limiter kept in the database) import the client.' }] }],
    },
  },
  {
    files: ['src/engine/zoho-adapter.ts', 'src/engine/budget.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/emulator/**', '**/cli/**', '**/service/**'], message: 'zoho-adapter.ts and budget.ts adapt the client only.' }] }],
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
