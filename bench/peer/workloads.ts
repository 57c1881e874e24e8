/**
 * @module peer/workloads
 * The issue-19 workloads, written once against ChatTarget so ours and Colyseus run the same code,
 * in the load-generator process (load-child.ts). `mark(name)` asks the parent to sample the
 * servers' CPU at that point (it resolves once the sample is taken), so CPU is counted for
 * exactly the measured phase of each workload.
 *
 * - chat: `documents` x `clients` closed loop; per document one sender sends, the next message
 *   only after every other client saw the previous one (and the sender had its ack).
 * - pair: one sender, one receiver, in a chat prefilled with `prefill` messages; one at a time.
 * - viewers: one document, one sender, `viewers` viewers; join them all (CPU of the join counted
 *   separately), then one message at a time until every viewer saw it.
 */
import type { Json } from '../../services/shared/json';
import { perSecond, summarize, type LatencySummary } from '../stats';
import { describeError, nowMs, withTimeout } from '../timing';
import type { ChatConnection, ChatTarget, TargetKind } from './chat-target';
import { ThreadSender } from './sender-thread';

export type Mark = (name: string) => Promise<void>;

export interface ChatLoopOptions { documents: number; clients: number; warmup: number; messages: number; opTimeoutMs: number; phaseMs: number }
export interface PairOptions { prefill: number; warmup: number; messages: number; opTimeoutMs: number }
export interface ViewersOptions { viewers: number; warmup: number; messages: number; opTimeoutMs: number; joinConcurrency: number }

export interface MessageFigures {
  /** send() → each receiver sees the message, over every delivery. */
  delivery: LatencySummary;
  /** send() → the last receiver of the document sees it, one sample per message. */
  lastSeen: LatencySummary;
  /** send() → the sender's ack (adama: durable; colyseus: the sender's own state shows it). */
  ack: LatencySummary;
  deliveries: number;
  deliveriesPerSec: number;
  messages: number;
  elapsedMs: number;
  expectedDeliveries: number;
  missedDeliveries: number;
  errors: number;
  errorSamples: Record<string, number>;
}

interface Waiting { text: string; t0: number; seen: boolean[]; remaining: number; lastAt: number; done(): void }

/** A document with one sender and `receivers` receivers; receivers are spread over the target's URLs by index. */
class Room {
  sender!: ChatConnection;
  readonly receivers: ChatConnection[] = [];
  waiting: Waiting | null = null;
  broken = false;
  constructor(readonly key: string, readonly receiverCount: number, private readonly record: (ms: number) => void) {}

  onText(receiver: number, text: string | undefined): void {
    const w = this.waiting;
    if (!w || w.seen[receiver] || text !== w.text) return;
    const at = nowMs();
    w.seen[receiver] = true;
    w.remaining--;
    w.lastAt = at;
    this.record(at - w.t0);
    if (w.remaining === 0) w.done();
  }

  /** `senderOn`: open the sender on a worker thread against this target (see sender-thread.ts). */
  static async open(target: ChatTarget, key: string, receiverCount: number, firstIndex: number, record: (ms: number) => void, joinConcurrency = 64, senderOn?: { kind: TargetKind; urls: string[] }): Promise<Room> {
    const room = new Room(key, receiverCount, record);
    const senderJoin = { space: 'chat', key, agent: `${key}-s`, create: true, index: firstIndex };
    room.sender = senderOn ? await ThreadSender.open({ target: senderOn, join: senderJoin }) : await target.join(senderJoin);
    await inBatches(receiverCount, joinConcurrency, async (j) => {
      room.receivers[j] = await target.join({ space: 'chat', key, agent: `${key}-r${j}`, create: false, index: firstIndex + 1 + j, onText: (t) => room.onText(j, t) });
    });
    return room;
  }

  /** Sends one message and waits until every receiver saw it and the sender had its ack: {lastSeenMs, ackMs}. */
  async sendOne(text: string, timeoutMs: number): Promise<{ lastSeenMs: number; ackMs: number }> {
    let w!: Waiting;
    const allSeen = new Promise<void>((resolve) => {
      w = { text, t0: nowMs(), seen: new Array<boolean>(this.receiverCount).fill(false), remaining: this.receiverCount, lastAt: 0, done: resolve };
    });
    this.waiting = w;
    let ackMs = 0;
    // A sender on its own thread measured its ack there, away from the receivers' deliveries.
    const acked = this.sender.send(text).then(() => { ackMs = this.sender instanceof ThreadSender ? this.sender.lastAckMs : nowMs() - w.t0; });
    try {
      await withTimeout(Promise.all([allSeen, acked]), timeoutMs, `message ${text}`);
      return { lastSeenMs: w.lastAt - w.t0, ackMs };
    } finally {
      this.waiting = null;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.sender, ...this.receivers].filter(Boolean).map((c) => c.close()));
  }
}

class Collector {
  readonly delivery: number[] = [];
  readonly lastSeen: number[] = [];
  readonly ack: number[] = [];
  measuring = false;
  expected = 0;
  errors = 0;
  readonly errorSamples: Record<string, number> = {};
  recordDelivery = (ms: number): void => { if (this.measuring) this.delivery.push(ms); };
  noteError(err: unknown): void {
    this.errors++;
    const key = describeError(err);
    if (key in this.errorSamples || Object.keys(this.errorSamples).length < 5) this.errorSamples[key] = (this.errorSamples[key] ?? 0) + 1;
  }
  /** One message of `room`: its figures count only while measuring; a lost message breaks the room. */
  async send(room: Room, text: string, timeoutMs: number): Promise<void> {
    const measured = this.measuring;
    if (measured) this.expected += room.receiverCount;
    try {
      const r = await room.sendOne(text, timeoutMs);
      if (measured) { this.lastSeen.push(r.lastSeenMs); this.ack.push(r.ackMs); }
    } catch (err) {
      this.noteError(err);
      room.broken = true;
    }
  }
  figures(elapsedMs: number): MessageFigures {
    return {
      delivery: summarize(this.delivery), lastSeen: summarize(this.lastSeen), ack: summarize(this.ack),
      deliveries: this.delivery.length, deliveriesPerSec: perSecond(this.delivery.length, elapsedMs), messages: this.lastSeen.length, elapsedMs: Math.round(elapsedMs),
      expectedDeliveries: this.expected, missedDeliveries: Math.max(0, this.expected - this.delivery.length), errors: this.errors, errorSamples: this.errorSamples,
    };
  }
}

async function inBatches(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) { const i = next++; await fn(i); }
  }));
}

export interface ChatLoopResult extends MessageFigures { setupMs: number }

export async function runChatLoop(target: ChatTarget, o: ChatLoopOptions, mark: Mark): Promise<ChatLoopResult> {
  const prefix = `chat-${Date.now().toString(36)}`;
  const c = new Collector();
  const setupStart = nowMs();
  const rooms = await withTimeout(Promise.all(Array.from({ length: o.documents }, (_, d) => Room.open(target, `${prefix}-${d}`, o.clients - 1, d * o.clients, c.recordDelivery))), o.opTimeoutMs * 4, 'chat setup');
  const setupMs = nowMs() - setupStart;
  try {
    const runAll = async (count: number, tag: string, deadline: number): Promise<void> => {
      await Promise.all(rooms.map(async (room) => {
        for (let i = 0; i < count && !room.broken && nowMs() < deadline; i++) await c.send(room, `${tag}-${room.key}-${i}`, o.opTimeoutMs);
      }));
    };
    await runAll(o.warmup, 'w', nowMs() + o.phaseMs);
    await mark('start');
    c.measuring = true;
    const t0 = nowMs();
    await runAll(o.messages, 'm', t0 + o.phaseMs);
    const elapsed = nowMs() - t0;
    c.measuring = false;
    await mark('end');
    return { ...c.figures(elapsed), setupMs: Math.round(setupMs) };
  } finally {
    await Promise.all(rooms.map((r) => r.close()));
  }
}

export interface PairResult extends MessageFigures { prefill: number; prefillMs: number }

/** `warmup` unmeasured then `messages` measured messages of one room, one at a time, CPU marked around the measured ones. */
async function oneAtATime(room: Room, c: Collector, o: { warmup: number; messages: number; opTimeoutMs: number }, mark: Mark): Promise<MessageFigures> {
  for (let i = 0; i < o.warmup && !room.broken; i++) await c.send(room, `w-${i}`, o.opTimeoutMs);
  await mark('start');
  c.measuring = true;
  const t0 = nowMs();
  for (let i = 0; i < o.messages && !room.broken; i++) await c.send(room, `m-${i}`, o.opTimeoutMs);
  const elapsed = nowMs() - t0;
  c.measuring = false;
  await mark('end');
  return c.figures(elapsed);
}

/** Sends in the prefill that one sender keeps in flight. */
const PREFILL_IN_FLIGHT = 32;

export async function runPair(target: ChatTarget, o: PairOptions, mark: Mark): Promise<PairResult> {
  const key = `pair-${o.prefill}-${Date.now().toString(36)}`;
  const c = new Collector();
  const room = await Room.open(target, key, 1, 0, c.recordDelivery);
  try {
    const p0 = nowMs();
    await inBatches(o.prefill, PREFILL_IN_FLIGHT, (i) => withTimeout(room.sender.send(`fill-${i}`), o.opTimeoutMs, `prefill ${i}`));
    const prefillMs = nowMs() - p0;
    return { ...await oneAtATime(room, c, o, mark), prefill: o.prefill, prefillMs: Math.round(prefillMs) };
  } finally {
    await room.close();
  }
}

export interface ViewersResult extends MessageFigures { viewers: number; joinMs: number }

/**
 * `senderOn`: the sender runs on a worker thread (sender-thread.ts), so its ack is not read behind
 * the viewers' deliveries in this process; the viewers stay on this thread.
 */
export async function runViewers(target: ChatTarget, o: ViewersOptions, mark: Mark, senderOn?: { kind: TargetKind; urls: string[] }): Promise<ViewersResult> {
  const key = `viewers-${o.viewers}-${Date.now().toString(36)}`;
  const c = new Collector();
  await mark('join-start');
  const j0 = nowMs();
  // Every viewer on the target's first URL (one proxy): index 0 for all.
  const room = await withTimeout(Room.open({ kind: target.kind, join: (jo) => target.join({ ...jo, index: 0 }) }, key, o.viewers, 0, c.recordDelivery, o.joinConcurrency, senderOn && { kind: senderOn.kind, urls: senderOn.urls.slice(0, 1) }), o.opTimeoutMs * 8, `join ${o.viewers} viewers`);
  const joinMs = nowMs() - j0;
  await mark('join-end');
  try {
    return { ...await oneAtATime(room, c, o, mark), viewers: o.viewers, joinMs: Math.round(joinMs) };
  } finally {
    await room.close();
  }
}

export type Job =
  | { workload: 'chat'; options: ChatLoopOptions }
  | { workload: 'pair'; options: PairOptions }
  | { workload: 'viewers'; options: ViewersOptions }
  | { workload: 'cards'; options: CardsOptions };

export type JobResult = ChatLoopResult | PairResult | ViewersResult | CardsPoint[] | Json;

export interface CardsOptions { players: number[]; messages: number; opTimeoutMs: number }

export interface CardsPoint {
  /** Players connected; every `play` changes every player's view (table, counts; the player's own hand), each view different. */
  players: number;
  plays: number;
  /** send() → the last player sees the play. */
  lastSeen: LatencySummary;
  ack: LatencySummary;
  elapsedMs: number;
  errors: number;
  errorSamples: Record<string, number>;
}

interface CardsView { table?: { id: number }[]; hand?: string[] }

/**
 * The cards example with P players, P in `players`: every player deals itself in by connecting;
 * one `deal` gives everyone min(10, 52 / P) cards; then players play in turn, one card at a time,
 * each play measured from send() until every player's view shows it (its table id), re-dealing
 * (unmeasured) when the player whose turn it is has no cards left. CPU is marked per P
 * (`p<P>-start`/`p<P>-end`), so the figure is server CPU per play against the views it changed.
 */
export async function runCards(target: ChatTarget, o: CardsOptions, mark: Mark): Promise<CardsPoint[]> {
  const points: CardsPoint[] = [];
  for (const players of o.players) {
    const key = `cards-${players}-${Date.now().toString(36)}`;
    const views: CardsView[] = [];
    let waiting: { afterId: number; remaining: number; seen: boolean[]; lastAt: number; done(): void } | null = null;
    const lastId = (v: CardsView | undefined): number => { const t = v?.table ?? []; return t.length > 0 ? t[t.length - 1]!.id : 0; };
    const onView = (i: number, view: Json): void => {
      views[i] = view as CardsView;
      const w = waiting;
      if (w && !w.seen[i] && lastId(views[i]) > w.afterId) {
        w.seen[i] = true;
        w.lastAt = nowMs();
        if (--w.remaining === 0) w.done();
      }
    };
    const conns: ChatConnection[] = [];
    const errorSamples: Record<string, number> = {};
    let errors = 0;
    try {
      for (let i = 0; i < players; i++) conns[i] = await target.join({ space: 'cards', key, agent: `${key}-p${i}`, create: i === 0, onView: (v) => onView(i, v) });
      const perPlayer = Math.min(10, Math.floor(52 / players));
      const deal = async (): Promise<void> => {
        await withTimeout(conns[0]!.sendOp!('deal', { count: perPlayer }), o.opTimeoutMs, 'deal');
        // Every player's view must show its new hand before the next play is timed.
        const t0 = nowMs();
        while (views.some((v) => (v?.hand?.length ?? 0) === 0)) {
          if (nowMs() - t0 > o.opTimeoutMs) throw new Error('deal: not every player saw a hand');
          await new Promise((r) => setTimeout(r, 1));
        }
      };
      const playOne = async (p: number, measured: { last: number[]; ack: number[] } | null): Promise<void> => {
        if ((views[p]?.hand?.length ?? 0) === 0) await deal();
        const card = views[p]!.hand![0]!;
        let w!: NonNullable<typeof waiting>;
        const allSeen = new Promise<void>((resolve) => { w = { afterId: lastId(views[p]), remaining: players, seen: new Array<boolean>(players).fill(false), lastAt: 0, done: resolve }; });
        waiting = w;
        const t0 = nowMs();
        let ackMs = 0;
        try {
          await withTimeout(Promise.all([allSeen, conns[p]!.sendOp!('play', { card }).then(() => { ackMs = nowMs() - t0; })]), o.opTimeoutMs, `play ${card}`);
          if (measured) { measured.last.push(w.lastAt - t0); measured.ack.push(ackMs); }
        } finally { waiting = null; }
      };
      await deal();
      for (let i = 0; i < Math.min(10, o.messages); i++) await playOne(i % players, null);
      const measured = { last: [] as number[], ack: [] as number[] };
      await mark(`p${players}-start`);
      const t0 = nowMs();
      for (let i = 0; i < o.messages; i++) {
        try { await playOne(i % players, measured); } catch (err) {
          errors++;
          const k = describeError(err);
          errorSamples[k] = (errorSamples[k] ?? 0) + 1;
          break;
        }
      }
      const elapsedMs = nowMs() - t0;
      await mark(`p${players}-end`);
      points.push({ players, plays: measured.last.length, lastSeen: summarize(measured.last), ack: summarize(measured.ack), elapsedMs: Math.round(elapsedMs), errors, errorSamples });
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  }
  return points;
}
