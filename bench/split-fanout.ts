/**
 * @module split-fanout
 * Chat fan-out: `documents` `chat` documents, each with `clientsPerDocument` SDK clients (one
 * socket each): client 0 sends `say` one message at a time, the other clients receive. A sample is
 * the sender's send() call → one receiver's onView showing that message, so every message gives
 * clientsPerDocument - 1 samples (deliveries); the sender's ack latency is recorded too. A
 * document's next message goes only after every receiver saw the previous one and the sender had
 * its ack. All documents run at once, so the load is `documents` messages in flight.
 *
 * The same function runs on the single-process stack (startDevCluster, in this process) and on
 * the split stack (child processes; clients alternate between proxies), so the two are comparable.
 * Every client runs in this process, which therefore also pays for decoding every delta.
 */
import type { AdamaClient, AdamaDocument } from '../client/index';
import type { Json } from '../services/shared/json';
import { cpuBetween, sampleCpu, type CpuUsage } from './cpu';
import { lastMessageText } from './send-to-delta';
import { perSecond, summarize, type LatencySummary } from './stats';
import { describeError, nowMs, withTimeout } from './timing';

export interface FanoutOptions {
  documents: number;
  clientsPerDocument: number;
  /** Measured messages per document, after `warmup` unmeasured ones. */
  messages: number;
  warmup: number;
  opTimeoutMs: number;
  /** A new SDK client (its own socket); `index` runs over all clients of the scenario. */
  newClient(name: string, index: number): AdamaClient;
  /** Child processes whose CPU is reported for the measured phase (name → pid). */
  children?(): Record<string, number | undefined>;
}

export interface FanoutResult {
  documents: number;
  clientsPerDocument: number;
  sockets: number;
  messagesPerDocument: number;
  /** send() → onView at each receiver, over every measured delivery. */
  delta: LatencySummary;
  /** send() → ack (durable) at the sender. */
  ack: LatencySummary;
  /** Receiver deliveries observed per second during the measured phase. */
  deliveriesPerSec: number;
  /** Acknowledged messages (all documents) per second during the measured phase. */
  msgsPerSec: number;
  elapsedMs: number;
  /** Connecting every client and the first views, ms. */
  setupMs: number;
  /** Deliveries expected in the measured phase (sent messages x receivers) and those that never came. */
  expectedDeliveries: number;
  missedDeliveries: number;
  errors: number;
  errorSamples: Record<string, number>;
  /** Cores used during the measured phase: this process (all clients; the cluster too when in-process), children, machine. */
  cpu: CpuUsage;
}

interface Waiting {
  text: string;
  t0: number;
  measured: boolean;
  seen: boolean[];
  remaining: number;
  allSeen(): void;
}

interface Room {
  key: string;
  sender: AdamaDocument;
  waiting: Waiting | null;
  broken: boolean;
}

/** No new message starts after this long in the measured phase (every message is bounded too). */
const PHASE_DEADLINE_MS = 60_000;

export async function runFanout(o: FanoutOptions): Promise<FanoutResult> {
  const receiversPerDoc = o.clientsPerDocument - 1;
  if (receiversPerDoc < 1) throw new Error('fan-out needs at least 2 clients per document');
  const prefix = `fan-${Date.now().toString(36)}`;
  const clients: AdamaClient[] = [];
  const newClient = (name: string): AdamaClient => { const c = o.newClient(name, clients.length); clients.push(c); return c; };
  const deltaMs: number[] = [];
  const ackMs: number[] = [];
  const errorSamples: Record<string, number> = {};
  let errors = 0;
  let missed = 0;
  let expected = 0;
  const noteError = (err: unknown): void => {
    errors++;
    const key = describeError(err);
    if (key in errorSamples || Object.keys(errorSamples).length < 5) errorSamples[key] = (errorSamples[key] ?? 0) + 1;
  };

  const onView = (room: Room, receiver: number, view: Json): void => {
    const w = room.waiting;
    if (!w || w.seen[receiver] || lastMessageText(view) !== w.text) return;
    const atMs = nowMs();
    w.seen[receiver] = true;
    w.remaining--;
    if (w.measured) deltaMs.push(atMs - w.t0);
    if (w.remaining === 0) w.allSeen();
  };

  const sendOne = async (room: Room, text: string, measured: boolean): Promise<void> => {
    let waiting!: Waiting;
    const allSeen = new Promise<void>((resolve) => {
      waiting = { text, t0: nowMs(), measured, seen: new Array<boolean>(receiversPerDoc).fill(false), remaining: receiversPerDoc, allSeen: resolve };
    });
    room.waiting = waiting;
    if (measured) expected += receiversPerDoc;
    const acked = room.sender.send('say', { text }).then(() => { if (measured) ackMs.push(nowMs() - waiting.t0); });
    try {
      await withTimeout(Promise.all([allSeen, acked]), o.opTimeoutMs, `fan-out message ${text}`);
    } finally {
      room.waiting = null;
      if (measured) missed += waiting.remaining;
    }
  };

  try {
    const setupStart = nowMs();
    const rooms = await withTimeout(Promise.all(Array.from({ length: o.documents }, async (_, d) => {
      const key = `${prefix}-${d}`;
      const senderClient = newClient(`f${d}s`);
      await senderClient.createDocument('chat', key, { title: 'fan-out' });
      const room: Room = { key, sender: senderClient.connect('chat', key), waiting: null, broken: false };
      const receivers = Array.from({ length: receiversPerDoc }, (_, j) => newClient(`f${d}r${j}`).connect('chat', key, { onView: (view) => onView(room, j, view) }));
      await Promise.all([room.sender.ready, ...receivers.map((r) => r.ready)]);
      return room;
    })), o.opTimeoutMs * 4, 'fan-out setup (create, connect, first views)');
    const setupMs = nowMs() - setupStart;

    const runRoom = async (room: Room, count: number, measured: boolean, deadlineMs: number): Promise<void> => {
      for (let i = 0; i < count && !room.broken && nowMs() < deadlineMs; i++) {
        try {
          await sendOne(room, `${measured ? 'm' : 'w'}-${room.key}-${i}`, measured);
        } catch (err) {
          // A document that lost a message stops: the next one would be measured against a stalled stream.
          noteError(err);
          room.broken = true;
        }
      }
    };
    await Promise.all(rooms.map((r) => runRoom(r, o.warmup, false, nowMs() + PHASE_DEADLINE_MS)));
    const cpuStart = sampleCpu(o.children?.() ?? {});
    const startMs = nowMs();
    await Promise.all(rooms.map((r) => runRoom(r, o.messages, true, startMs + PHASE_DEADLINE_MS)));
    const elapsedMs = nowMs() - startMs;
    const cpu = cpuBetween(cpuStart, sampleCpu(o.children?.() ?? {}));
    return {
      documents: o.documents, clientsPerDocument: o.clientsPerDocument, sockets: clients.length, messagesPerDocument: o.messages,
      delta: summarize(deltaMs), ack: summarize(ackMs),
      deliveriesPerSec: perSecond(deltaMs.length, elapsedMs),
      msgsPerSec: perSecond(ackMs.length, elapsedMs),
      elapsedMs, setupMs,
      expectedDeliveries: expected, missedDeliveries: missed, errors, errorSamples, cpu,
    };
  } finally {
    for (const c of clients) c.close();
  }
}
