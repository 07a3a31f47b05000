import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Everything outside the library's own sources reaches it the way an installed package is reached:
 * through `nestjs-wechat-pay-v2` or its `/testing`, `/protocol` and `/health` subpaths,
 * and the simulator through `wechat-pay-v2-simulator`. A deep or relative path into another
 * package's sources would compile here and break for every user of the published packages.
 */
const packageBoundaries = {
  patterns: [
    {
      group: [
        '**/wechat-pay/src',
        '**/wechat-pay/src/**',
        '**/libs/wechat-pay',
        '**/libs/wechat-pay/**',
        'nestjs-wechat-pay-v2/*',
        '!nestjs-wechat-pay-v2/testing',
        '!nestjs-wechat-pay-v2/protocol',
        '!nestjs-wechat-pay-v2/health',
        '@app/*',
      ],
      message:
        'import the library as its users do: nestjs-wechat-pay-v2 or its /testing, /protocol or /health subpath',
    },
  ],
};
const simulatorBoundary = {
  group: [
    '**/wechat-pay-simulator/src',
    '**/wechat-pay-simulator/src/**',
    '**/libs/wechat-pay-simulator',
    '**/libs/wechat-pay-simulator/**',
  ],
  message: 'import the simulator as its users do: wechat-pay-v2-simulator',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'apps/miniprogram/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['libs/wechat-pay-simulator/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', packageBoundaries] },
  },
  {
    files: ['apps/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'examples/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...packageBoundaries.patterns, simulatorBoundary] },
      ],
    },
  },
  {
    files: ['bench/**/*.ts', 'libs/wechat-pay-simulator/src/main.ts', 'apps/demo/src/main.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
