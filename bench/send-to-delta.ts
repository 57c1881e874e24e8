/**
 * @module send-to-delta
 * Latency through the whole stack: two SDK clients (two sockets) on one `chat` document; A sends
 * `say` one message at a time, and each sample is A's send() call → B's onView showing that
 * message (sandbox, durable append, per-viewer view and delta, both sockets). A's ack latency
 * (send() → resolved, i.e. durable) is recorded for the same messages. The next message goes
 * only after both the delta reached B and the ack reached A.
 */
import type { Json } from '../services/shared/json';
import type { BenchConfig } from './config';
import type { BenchStack } from './bench-stack';
import { perSecond, summarize, type LatencySummary } from './stats';
import { nowMs, withTimeout } from './timing';

export interface SendToDeltaResult {
  delta: LatencySummary;
  ack: LatencySummary;
  msgsPerSec: number;
  /**
   * send→delta over the first and the last tenth of the measured messages. The chat view carries
   * every message so far, so a gap between the two shows per-send work that grows with the document.
   */
  deltaFirstTenth: LatencySummary;
  deltaLastTenth: LatencySummary;
  /** Messages in the document when the run ended (warm-up included). */
  documentMessages: number;
}

export async function runSendToDelta(stack: BenchStack, config: Readonly<BenchConfig>): Promise<SendToDeltaResult> {
  const alice = stack.client('alice');
  const bob = stack.client('bob');
  const key = `latency-${Date.now().toString(36)}`;
  await withTimeout(alice.createDocument('chat', key, { title: 'bench' }), config.opTimeoutMs, 'createDocument');
  let waiting: { text: string; resolve(atMs: number): void } | null = null;
  const docA = alice.connect('chat', key);
  const docB = bob.connect('chat', key, {
    onView: (view) => {
      const atMs = nowMs();
      if (waiting && lastMessageText(view) === waiting.text) { const w = waiting; waiting = null; w.resolve(atMs); }
    },
  });
  await withTimeout(Promise.all([docA.ready, docB.ready]), config.opTimeoutMs, 'first views');

  const sendOne = async (text: string): Promise<{ deltaMs: number; ackMs: number }> => {
    const seenB = new Promise<number>((resolve) => { waiting = { text, resolve }; });
    const t0 = nowMs();
    const acked = docA.send('say', { text }).then(() => nowMs());
    const [seenAtMs, ackedAtMs] = await withTimeout(Promise.all([seenB, acked]), config.opTimeoutMs, `message ${text}`);
    return { deltaMs: seenAtMs - t0, ackMs: ackedAtMs - t0 };
  };
  for (let i = 0; i < config.warmup; i++) await sendOne(`warm-${i}`);
  const deltaMs: number[] = [];
  const ackMs: number[] = [];
  const startMs = nowMs();
  for (let i = 0; i < config.messages; i++) {
    const s = await sendOne(`m-${i}`);
    deltaMs.push(s.deltaMs);
    ackMs.push(s.ackMs);
  }
  const elapsedMs = nowMs() - startMs;
  await Promise.all([docA.end(), docB.end()]);
  const tenth = Math.max(1, Math.floor(deltaMs.length / 10));
  return {
    delta: summarize(deltaMs), ack: summarize(ackMs), msgsPerSec: perSecond(deltaMs.length, elapsedMs),
    deltaFirstTenth: summarize(deltaMs.slice(0, tenth)), deltaLastTenth: summarize(deltaMs.slice(-tenth)),
    documentMessages: config.warmup + config.messages,
  };
}

/** The text of the last message in a `chat` view, if any. */
export function lastMessageText(view: Json): string | undefined {
  if (typeof view !== 'object' || view === null || Array.isArray(view)) return undefined;
  const messages = view.messages;
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const last = messages[messages.length - 1];
  if (typeof last !== 'object' || last === null || Array.isArray(last)) return undefined;
  return typeof last.text === 'string' ? last.text : undefined;
}
