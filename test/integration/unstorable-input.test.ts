/**
 * Text the log cannot store, sent among honest traffic, across real processes (1 host, so every
 * document shares one group committer, and 1 proxy): twenty messages holding a lone UTF-16
 * surrogate or U+0000, and a create whose argument holds one, are refused alone with
 * STRING_NOT_WELL_FORMED (permanent), while 50 honest writers on other documents see no failure
 * and the host sheds nothing. Before, PostgreSQL's jsonb refused the whole group-commit batch:
 * every document in it failed with STORAGE_UNAVAILABLE (retry: true) and was shed.
 */
import { E } from '../../services/shared/errors';
import { summarize } from '../../bench/stats';
import { RawSocket } from '../support/raw-socket';
import { startSplitCluster, type SplitCluster } from '../support/split-cluster';

const HONEST = 50;
const BAD = 20;
const SENDS_EACH = 8;

describe('unstorable strings among honest writers (1 host, 1 proxy, separate processes)', () => {
  let c: SplitCluster;
  beforeAll(async () => { c = await startSplitCluster({ hosts: 1, proxies: 1 }); }, 120_000);
  afterAll(async () => { await c?.close(); });

  it('refuses each bad message alone and permanently; honest writers see no failure and nothing is shed', async () => {
    const setup = c.client('setup');
    for (let d = 0; d < 10; d++) await setup.createDocument('chat', `honest-${d}`, {});
    const writers = Array.from({ length: HONEST }, (_, w) => c.client(`honest-${w}`).connect('chat', `honest-${w % 10}`));
    await Promise.all(writers.map((d) => d.ready));
    const attacker = await RawSocket.connected(String(c.proxies[0]!.ready.ws), 'anonymous:attacker', 'chat', 'bad');

    const ackMs: number[] = [];
    const failures: unknown[] = [];
    const honest = Promise.all(writers.map(async (doc, w) => {
      for (let i = 0; i < SENDS_EACH; i++) {
        const started = performance.now();
        await doc.send('say', { text: `w${w}#${i}` }).then(() => ackMs.push(performance.now() - started), (err: unknown) => failures.push(err));
      }
    }));
    // JSON.stringify writes both as \u escapes, exactly as a browser client would send them.
    const bad = [{ text: 'hi', x: '\ud800' }, { text: 'a\u0000b' }];
    for (let i = 0; i < BAD; i++) attacker.send({ id: 100 + i, method: 'connection/send', connection: 3, channel: 'say', message: bad[i % 2]! });
    attacker.send({ id: 200, method: 'document/create', space: 'chat', key: 'bad-arg', arg: { title: '\udfff' } });
    const refusals = await Promise.all([...Array.from({ length: BAD }, (_, i) => attacker.reply(100 + i)), attacker.reply(200)]);
    await honest;

    for (const r of refusals) expect(r).toMatchObject({ code: E.STRING_NOT_WELL_FORMED.code, retry: false });
    expect(failures).toEqual([]);
    expect(ackMs).toHaveLength(HONEST * SENDS_EACH);
    const host = [...c.hosts.values()][0]!;
    expect(host.logs.filter((l) => l.event === 'document.shed' || l.event === 'append.failed' || l.event === 'append.refused')).toEqual([]);
    // The attacker's own stream still works with well-formed text.
    attacker.send({ id: 300, method: 'connection/send', connection: 3, channel: 'say', message: { text: 'fine 😀' } });
    expect(await attacker.reply(300)).toMatchObject({ done: true });
    const acks = summarize(ackMs);
    process.stderr.write(`unstorable input: ${BAD} bad sends + 1 bad create refused; honest ack p50 ${acks.p50Ms} ms, p99 ${acks.p99Ms} ms over ${acks.count} sends\n`);
    attacker.close();
  }, 120_000);
});
