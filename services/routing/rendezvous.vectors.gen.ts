/**
 * @module rendezvous.vectors.gen
 * The script that wrote `rendezvous.vectors.json` from the independent BigInt reference
 * (`rendezvous-reference.ts`), not from the fast implementation it checks. The vectors pin
 * the routing function: any change to them moves documents between hosts, so regenerate only on
 * purpose. Regenerate with:
 *
 *   npx esbuild services/routing/rendezvous.vectors.gen.ts --bundle --platform=node --outfile=/tmp/gen.js \
 *     && node /tmp/gen.js > services/routing/rendezvous.vectors.json
 */
import type { RoutingHost } from './rendezvous';
import { referenceHash64, referenceRank } from './rendezvous-reference';

interface VectorCase { name: string; hosts: RoutingHost[]; space: string; key: string; owner: string | null; ranking: string[] }
interface HashVector { hostId: string; space: string; key: string; hex: string }
interface Vectors { hashes: HashVector[]; cases: VectorCase[] }

const host = (id: string, weight = 1): RoutingHost => ({ id, address: `${id}.hosts.adama:9000`, weight });
const three = [host('host-a'), host('host-b'), host('host-c')];
const ten = Array.from({ length: 10 }, (_, i) => host(`host-${i}`));

const inputs: Array<Omit<VectorCase, 'owner' | 'ranking'>> = [
  { name: 'no hosts', hosts: [], space: 'chat', key: 'room-1' },
  { name: 'one host', hosts: [host('host-a')], space: 'chat', key: 'room-1' },
  { name: 'three equal hosts, room-1', hosts: three, space: 'chat', key: 'room-1' },
  { name: 'three equal hosts, room-2', hosts: three, space: 'chat', key: 'room-2' },
  { name: 'three equal hosts, room-3', hosts: three, space: 'chat', key: 'room-3' },
  { name: 'three equal hosts, other space', hosts: three, space: 'game', key: 'room-1' },
  { name: 'three equal hosts listed in reverse', hosts: [...three].reverse(), space: 'chat', key: 'room-1' },
  { name: 'three hosts of equal weight 5', hosts: three.map((h) => ({ ...h, weight: 5 })), space: 'chat', key: 'room-2' },
  { name: 'ten equal hosts, doc.1', hosts: ten, space: 'docs', key: 'doc.1' },
  { name: 'ten equal hosts, doc.2', hosts: ten, space: 'docs', key: 'doc.2' },
  { name: 'ten equal hosts, long key', hosts: ten, space: 'docs', key: 'k'.repeat(128) },
  { name: 'weights 1:2:1, a', hosts: [host('host-a', 1), host('host-b', 2), host('host-c', 1)], space: 'chat', key: 'w-1' },
  { name: 'weights 1:2:1, b', hosts: [host('host-a', 1), host('host-b', 2), host('host-c', 1)], space: 'chat', key: 'w-2' },
  { name: 'weights 1:1:4', hosts: [host('host-a', 1), host('host-b', 1), host('host-c', 4)], space: 'chat', key: 'w-3' },
  { name: 'fractional weights', hosts: [host('small', 0.25), host('medium', 1.5), host('large', 3)], space: 'maps', key: 'tile_7_3' },
  { name: 'a zero-weight host ranks last', hosts: [host('host-a', 1), host('host-z', 0), host('host-b', 1)], space: 'chat', key: 'w-4' },
  { name: 'non-ASCII key (2- and 3-byte UTF-8)', hosts: three, space: 'chat', key: 'café-日本' },
  { name: 'astral-plane key (surrogate pair)', hosts: three, space: 'chat', key: 'party-🎉' },
  { name: 'non-ASCII host ids', hosts: [host('hôte-1'), host('主机-2'), host('host-3')], space: 'chat', key: 'room-1' },
  { name: 'empty key', hosts: three, space: 'chat', key: '' },
];

const hashInputs: Array<[string, string, string]> = [
  ['', '', ''], ['host-a', 'chat', 'room-1'], ['host-b', 'chat', 'room-1'],
  ['a', 'b\u0000c', ''], ['host', 'space', 'é日🎉'], ['host', 'space', 'lone-\ud800-surrogate'],
];

function buildVectors(): Vectors {
  return {
    hashes: hashInputs.map(([hostId, space, key]) => ({ hostId, space, key, hex: referenceHash64(hostId, space, key).toString(16).padStart(16, '0') })),
    cases: inputs.map((c) => {
      const ranking = referenceRank(c.hosts, c.space, c.key).map((h) => h.id);
      return { ...c, owner: ranking[0] ?? null, ranking };
    }),
  };
}

process.stdout.write(`${JSON.stringify(buildVectors(), null, 2)}\n`);
