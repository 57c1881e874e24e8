/**
 * Layer rules for the import graph (docs/architecture.md §10): imports point down the layers and
 * there are no cycles. Checked by test/layers.test.ts through `depcruise`.
 */
const tier = (name) => `^services/${name}/`;
// Lower layers must not import these; each entry: [layer, the layers above it it may not import].
const above = {
  shared: ['protocol', 'storage', 'routing', 'gossip', 'runtime', 'grpc', 'adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  protocol: ['storage', 'routing', 'gossip', 'runtime', 'grpc', 'adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  storage: ['routing', 'gossip', 'runtime', 'grpc', 'adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  routing: ['gossip', 'runtime', 'grpc', 'adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  runtime: ['grpc', 'adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  grpc: ['adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  gossip: ['adama-host', 'web-proxy', 'locator', 'archiver', 'cli'],
  'adama-host': ['web-proxy', 'locator', 'cli'],
  'web-proxy': ['adama-host', 'locator', 'archiver', 'cli'],
  locator: ['adama-host', 'web-proxy', 'archiver', 'cli'],
  archiver: ['web-proxy', 'locator', 'cli'],
};
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    ...Object.entries(above).map(([layer, higher]) => ({
      name: `${layer}-points-down`,
      severity: 'error',
      comment: `services/${layer} may not import from a layer above it`,
      from: { path: tier(layer), pathNot: '\\.test\\.ts$' },
      to: { path: `^services/(${higher.join('|')})/` },
    })),
    { name: 'client-uses-protocol-only', severity: 'error', from: { path: '^client/' }, to: { path: '^services/(?!protocol/|shared/)' } },
    { name: 'operator-free-of-data-path', severity: 'error', from: { path: '^operator/' }, to: { path: '^services/(storage|runtime|adama-host|web-proxy|locator|archiver)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
