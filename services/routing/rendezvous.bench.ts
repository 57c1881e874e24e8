/**
 * @module rendezvous.bench
 * Informal speed check of the rendezvous hash (the proxy scores every host on every connect),
 * against a BigInt version of the same hash to justify the uint32-halves implementation. Run:
 *
 *   npx esbuild services/routing/rendezvous.bench.ts --bundle --platform=node --outfile=/tmp/bench.js && node /tmp/bench.js
 */
import { pickOwner, score, type RoutingHost } from './rendezvous';
import { referenceHash64 } from './rendezvous-reference';

function rate(label: string, calls: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(calls, 200_000); i++) fn(i); // warm up
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < calls; i++) if (fn(i)) sink++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label.padEnd(44)} ${Math.round(calls / seconds).toLocaleString('en-US').padStart(12)} calls/s${sink < 0 ? '!' : ''}`);
}

const keys = Array.from({ length: 100_000 }, (_, i) => `document-${i}`);
const hosts = (n: number, weight: (i: number) => number): RoutingHost[] =>
  Array.from({ length: n }, (_, i) => ({ id: `adama-host-${i}`, address: `10.0.0.${i}:9000`, weight: weight(i) }));
const equal10 = hosts(10, () => 1);
const weighted10 = hosts(10, (i) => 1 + (i % 3));

rate('score (uint32 halves)', 5_000_000, (i) => score('adama-host-3', 'chat', keys[i % keys.length]!));
rate('reference hash (BigInt + TextEncoder)', 300_000, (i) => referenceHash64('adama-host-3', 'chat', keys[i % keys.length]!));
rate('pickOwner, 10 equal hosts', 500_000, (i) => pickOwner(equal10, 'chat', keys[i % keys.length]!));
rate('pickOwner, 10 weighted hosts', 500_000, (i) => pickOwner(weighted10, 'chat', keys[i % keys.length]!));
