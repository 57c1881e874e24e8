/** Jest runs TypeScript through @swc/jest (fast, no type-check); `npm test` type-checks first with tsc. */
const swc = (syntax) => ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax } }, module: { type: 'commonjs' } }];

/**
 * @kubernetes/client-node 1.x and the OIDC stack it imports are ES modules. Node 20 can require()
 * them (the operator's dist/ does), but Jest's module loader cannot before Node 24.9, so Jest
 * compiles exactly these packages to CommonJS with the same swc.
 */
const ESM_PACKAGES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services', '<rootDir>/client', '<rootDir>/operator', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': swc('typescript'), '^.+\\.m?js$': swc('ecmascript') },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  testTimeout: 30000,
  maxWorkers: 2,
};
