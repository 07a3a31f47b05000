/** Two projects: unit specs live beside the code, e2e specs under test/. */
const moduleNameMapper = {
  '^nestjs-wechat-pay-v2$': '<rootDir>/libs/wechat-pay/src',
  '^nestjs-wechat-pay-v2/(testing|protocol|health)$': '<rootDir>/libs/wechat-pay/src/$1',
  '^wechat-pay-v2-simulator$': '<rootDir>/libs/wechat-pay-simulator/src',
};
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] };
const common = {
  rootDir: __dirname,
  moduleFileExtensions: ['js', 'json', 'ts'],
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
  // npm run build:lib writes a package.json under dist/: keep it out of Jest's module map.
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
