import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      '.tmp/',
      '**/.wrangler/',
      'deploy/**/dist/',
      'deploy/**/node_modules/',
      'deploy/**/target/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The lib is runner-agnostic: it talks to the runner only through the IO port it is given.
      'no-restricted-imports': 'off',
    },
  },
  {
    // Short functions: a step that grows past this is split into named steps.
    files: ['src/**/*.ts', 'emulator/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 50, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@actions/core',
              message: 'src/lib takes an IO port; only src/actions may import @actions/core.',
            },
            {
              name: '@actions/cache',
              message:
                'src/lib takes the CacheService port (Deps.cache); only src/actions may import @actions/cache.',
            },
            {
              name: '@actions/github',
              message:
                'src/lib is given what it needs of the run; only src/actions may import @actions/github.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workers run in the Workers runtime, which has the fetch API as globals.
    files: ['test/fixtures/worker/**/*.js', 'deploy/cloudflare/**/*.{js,ts}'],
    languageOptions: {
      globals: {
        Response: 'readonly',
        Request: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        Headers: 'readonly',
      },
    },
  },
  {
    files: [
      'scripts/**/*.mjs',
      'tools/**/*.mjs',
      'test/fixtures/runner/**/*.mjs',
      'deploy/**/*.mjs',
      'bench/**/*.ts',
      'test/**/*.ts',
      'tools/**/*.ts',
      'emulator/**/*.ts',
    ],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
);
