import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'evident-data/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', setImmediate: 'readonly', AbortController: 'readonly', fetch: 'readonly', queueMicrotask: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-control-regex': 'off',
    },
  },
  {
    // the crypto port: modules that may run in the verifier page take crypto from src/kernel/crypto/index.ts
    // (node:crypto in Node, the browser implementation in the page); type-only imports are erased and allowed
    files: ['src/kernel/**/*.ts', 'src/profiles/**/*.ts', 'src/receipts/**/*.ts', 'src/verify/**/*.ts', 'src/log/**/*.ts'],
    ignores: ['src/kernel/crypto/node.ts', 'src/kernel/crypto/browser.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:crypto', message: 'import from src/kernel/crypto/index.ts (the crypto port) so the verifier page runs this module', allowTypeImports: true }, { name: 'crypto', message: 'use src/kernel/crypto/index.ts', allowTypeImports: true }] },
      ],
    },
  },
);
