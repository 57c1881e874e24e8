/**
 * Principals cannot collide (issue 11.5): a space tells `anonymous:bob` from the token user `bob`
 * by `who.id`, and a dedupe key belongs to the principal that sent it.
 */
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client';
import type { Json } from '../../services/shared/json';
import { startTestCluster, waitFor, type TestCluster } from '../support/cluster';
import { RawSocket } from '../support/raw-socket';

type CardsView = { players: { id: string; name: string; cards: number }[]; hand: string[]; table: { card: string; by: string }[] };
type ChatView = { messages: { author: string; text: string }[] };

describe('principals', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster(); }, 60_000);
  afterAll(async () => { await t.close(); });

  const clientAs = (identity: string): AdamaClient => {
    const c = new AdamaClient({ url: t.wsUrl, identity, WebSocket: WebSocket as unknown as WebSocketFactory });
    t.clients.push(c);
    return c;
  };

  it('seats anonymous:bob and the token user bob as two players with their own hands', async () => {
    const tokenBob = clientAs(await t.cluster.mintDevToken!('bob'));
    const anonBob = clientAs('anonymous:bob');
    await tokenBob.createDocument('cards', 'principals-1', {});
    const tokenViews = waitFor<Json>();
    const anonViews = waitFor<Json>();
    const asToken = tokenBob.connect('cards', 'principals-1', { onView: (v) => tokenViews.push(v) });
    await tokenViews.until((v) => (v as CardsView).players.length === 1);
    const asAnon = anonBob.connect('cards', 'principals-1', { onView: (v) => anonViews.push(v) });
    await anonViews.until((v) => (v as CardsView).players.length === 2);
    await asToken.send('deal', { count: 5 });

    const tokenHand = ((await tokenViews.until((v) => (v as CardsView).hand.length === 5)) as CardsView).hand;
    const anonSaw = (await anonViews.until((v) => (v as CardsView).hand.length === 5)) as CardsView;
    expect(anonSaw.players.map((p) => [p.id, p.name]).sort()).toEqual([['anonymous:bob', 'bob'], ['jwt:bob', 'bob']]);
    expect(anonSaw.hand.filter((c) => tokenHand.includes(c))).toEqual([]);

    // The anonymous bob cannot play the token bob's card: it is not in his hand.
    const notHis = tokenHand.find((c) => !anonSaw.hand.includes(c))!;
    await expect(asAnon.send('play', { card: notHis })).rejects.toThrow(/not in your hand/);
    await asToken.send('play', { card: tokenHand[0]! });
    const table = ((await anonViews.until((v) => (v as CardsView).table.length === 1)) as CardsView).table;
    expect(table[0]).toMatchObject({ card: tokenHand[0], by: 'jwt:bob' });
  });

  it('applies a send whose dedupe key another principal already used, and still dedupes the first sender\'s retry', async () => {
    const alice = await RawSocket.connected(t.wsUrl, 'anonymous:alice', 'chat', 'principals-2');
    const bob = await RawSocket.connected(t.wsUrl, 'anonymous:bob', 'chat', 'principals-2');
    const say = (s: RawSocket, id: number, text: string) =>
      s.send({ id, method: 'connection/send', connection: 3, channel: 'say', message: { text }, dedupe: 'shared-key' });

    say(alice, 10, 'from alice');
    const first = (await alice.reply(10)) as { response: { seq: number } };
    say(bob, 10, 'from bob');
    const second = (await bob.reply(10)) as { response: { seq: number } };
    expect(second.response.seq).toBeGreaterThan(first.response.seq);
    say(alice, 11, 'from alice, retried');
    expect(((await alice.reply(11)) as { response: { seq: number } }).response.seq).toBe(first.response.seq);

    const views = waitFor<Json>();
    const reader = t.client('reader').connect('chat', 'principals-2', { onView: (v) => views.push(v) });
    const seen = (await views.until((v) => (v as ChatView).messages.length >= 2)) as ChatView;
    expect(seen.messages.map((m) => [m.author, m.text])).toEqual([['alice', 'from alice'], ['bob', 'from bob']]);
    await reader.end();
    alice.close();
    bob.close();
  });
});
