/** The card game: each player sees only their own hand, in the first view and in every delta. */
import type { Json } from '../../services/shared/json';
import { startTestCluster, waitFor, type TestCluster } from '../support/cluster';
import { RawSocket, type Frame } from '../support/raw-socket';

type CardsView = { players: { id: string; cards: number }[]; hand: string[]; table: { card: string; by: string }[] };
const CARD = /^(A|[2-9]|10|J|Q|K)[SHDC]$/;

/** Every card code that appears anywhere in a JSON value. */
function cardsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string' && CARD.test(value)) out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => cardsIn(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => cardsIn(v, out));
  return out;
}

describe('cards: hidden hands', () => {
  let t: TestCluster;
  beforeAll(async () => { t = await startTestCluster(); });
  afterAll(async () => { await t.close(); });

  it('never sends a player another player\'s hand, in any delta', async () => {
    const host = t.client('host');
    await host.createDocument('cards', 'table1', {});
    // Raw sockets, so the test sees every frame exactly as sent.
    const alice = await RawSocket.open(t.wsUrl);
    const bob = await RawSocket.open(t.wsUrl);
    const aliceFrames: Frame[] = [];
    const bobFrames: Frame[] = [];
    alice.ws.on('message', (d) => aliceFrames.push(JSON.parse(d.toString()) as Frame));
    bob.ws.on('message', (d) => bobFrames.push(JSON.parse(d.toString()) as Frame));
    alice.send({ id: 1, method: 'connection/create', space: 'cards', key: 'table1', identity: 'anonymous:alice' });
    bob.send({ id: 1, method: 'connection/create', space: 'cards', key: 'table1', identity: 'anonymous:bob' });
    await alice.next((f) => f.deliver === 1);
    await bob.next((f) => f.deliver === 1);

    alice.send({ id: 2, method: 'connection/send', connection: 1, channel: 'deal', message: { count: 5 } });
    await alice.reply(2);

    const aliceView = waitFor<Json>();
    const bobView = waitFor<Json>();
    const a = t.client('alice').connect('cards', 'table1', { onView: (v) => aliceView.push(v) });
    const b = t.client('bob').connect('cards', 'table1', { onView: (v) => bobView.push(v) });
    const aHand = ((await aliceView.until((v) => (v as CardsView).hand.length === 5)) as CardsView).hand;
    const bHand = ((await bobView.until((v) => (v as CardsView).hand.length === 5)) as CardsView).hand;
    expect(new Set([...aHand, ...bHand]).size).toBe(10);

    // Alice plays a card: it becomes public on the table, the rest of her hand stays hers.
    const played = aHand[0]!;
    await a.send('play', { card: played });
    await bobView.until((v) => (v as CardsView).table.some((c) => c.card === played));
    bob.send({ id: 3, method: 'connection/send', connection: 1, channel: 'play', message: { card: bHand[0] } });
    await bob.reply(3);
    await aliceView.until((v) => (v as CardsView).table.length === 2);
    await b.end();

    const seenByBob = cardsIn(bobFrames);
    const seenByAlice = cardsIn(aliceFrames);
    for (const card of aHand.slice(1)) expect(seenByBob.has(card)).toBe(false);
    for (const card of bHand.slice(1)) expect(seenByAlice.has(card)).toBe(false);
    expect(seenByBob.has(played)).toBe(true);
    const bobSaw = (await bobView.until(() => true)) as CardsView;
    expect(bobSaw.players.find((p) => p.id === 'anonymous:alice')?.cards).toBeGreaterThanOrEqual(4);
    alice.close();
    bob.close();
  });
});
