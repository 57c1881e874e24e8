/**
 * Chat load for fault tests on a split cluster: writers on many rooms, the host that owns the most
 * rooms, and the final check that every acknowledged message is present exactly once and every
 * room's log is gapless on a host other than the one that failed.
 */
import type { AdamaDocument } from '../../client/index';
import type { SplitCluster } from './split-cluster';

/** What the chat load needs of a cluster: the split harness and the gossip harness both have it. */
type ChatCluster = Pick<SplitCluster, 'client' | 'storage'>;

export interface ChatWriter { name: string; doc: AdamaDocument; room: string; acked: string[] }

const room = (d: number) => `room-${d}`;

/** The chat example keeps the newest 1 000 messages (MAX_MESSAGES in examples/spaces/chat). */
const CHAT_KEEPS_MESSAGES = 1000;

/** Creates `rooms` chat rooms and `perRoom` writers on each (one socket per writer), all ready. */
export async function openChatWriters(c: ChatCluster, rooms: number, perRoom: number): Promise<ChatWriter[]> {
  const setup = c.client('setup');
  for (let d = 0; d < rooms; d++) await setup.createDocument('chat', room(d), {});
  const writers: ChatWriter[] = [];
  for (let d = 0; d < rooms; d++) {
    for (let w = 0; w < perRoom; w++) {
      const name = `w${d}-${w}`;
      writers.push({ name, doc: c.client(name).connect('chat', room(d)), room: room(d), acked: [] });
    }
  }
  await Promise.all(writers.map((w) => w.doc.ready));
  return writers;
}

/** The host that owns the most rooms right now. */
export async function busiestHost(c: ChatCluster, rooms: number): Promise<{ host: string; hostsInUse: number }> {
  const owners = await Promise.all(Array.from({ length: rooms }, (_, d) => c.storage.data.lookup({ space: 'chat', key: room(d) })));
  const counts = new Map<string, number>();
  for (const o of owners) counts.set(o!.host!, (counts.get(o!.host!) ?? 0) + 1);
  return { host: [...counts].sort((a, b) => b[1] - a[1])[0]![0], hostsInUse: counts.size };
}

/** Every room: not on `gone`, gapless log, and each writer's acked texts present exactly once (read by a new client per room). */
export async function expectEveryAckExactlyOnce(c: ChatCluster, writers: readonly ChatWriter[], rooms: number, gone: string): Promise<void> {
  for (let d = 0; d < rooms; d++) {
    const ref = { space: 'chat', key: room(d) };
    const row = await c.storage.data.lookup(ref);
    expect(row!.host).not.toBe(gone);
    const { snapshot, records } = await c.storage.data.load(ref);
    const first = (snapshot?.seq ?? 0) + 1;
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: row!.headSeq - first + 1 }, (_, i) => first + i));
    const reader = c.client(`reader${d}`).connect('chat', ref.key);
    const texts = ((await reader.ready) as { messages: { text: string }[] }).messages.map((m) => m.text);
    const full = texts.length >= CHAT_KEEPS_MESSAGES;
    for (const w of writers.filter((x) => x.room === ref.key)) {
      // A full room has dropped its oldest messages: what a writer still finds there must be a
      // suffix of what it had acked, each once. A room that is not full must hold every ack.
      const firstKept = full ? Math.max(0, w.acked.findIndex((t) => texts.includes(t))) : 0;
      for (const text of w.acked.slice(firstKept)) expect({ room: ref.key, text, times: texts.filter((t) => t === text).length }).toEqual({ room: ref.key, text, times: 1 });
    }
  }
}
