/**
 * @module failover-time
 * How long documents are unavailable when their host dies, on the split stack. `documents` `chat`
 * documents, one SDK client (one socket, alternating proxies) each. Each round:
 * 1. every document sends one message and waits for its ack and its own delta (all streams are
 *    healthy and quiet: no send in flight);
 * 2. the victim is the host that owns (directory row) the most of these documents; the affected
 *    documents are the ones it owns;
 * 3. t0 = the victim's SIGKILL; right after it (same tick) every document's client sends one
 *    `say`. For each document: recovery (ack) = t0 → that send's ack (durable on whichever host
 *    owns the document now), recovery (delta) = t0 → the client's own stream showing that message
 *    (the stream is delivering again). The SDK retries the send with its dedupe key (up to 20
 *    attempts, jittered backoff), the proxy re-attaches the stream, the new owner replays the log.
 *    Unaffected documents give the control figure (same send, host untouched);
 * 4. a host with the same id is restarted (time to its ready line is reported), then a pause.
 * Everything is bounded: a document that has not recovered after `recoveryTimeoutMs` counts as
 * failed, and the rounds stop when the pre-round check fails.
 */
import type { AdamaDocument } from '../client/index';
import { errorByCode } from '../services/shared/errors';
import type { DataService } from '../services/storage/data-service';
import { lastMessageText } from './send-to-delta';
import type { SplitStack } from './split-stack';
import { round as roundTo, summarize, type LatencySummary } from './stats';
import { describeError, nowMs, withTimeout } from './timing';

export interface FailoverOptions {
  rounds: number;
  documents: number;
  proxies: number;
  opTimeoutMs: number;
  /** Bound on one document's recovery after the kill. */
  recoveryTimeoutMs: number;
  /** Pause after the restarted host is ready, before the next round. */
  settleMs: number;
}

export interface FailoverRound {
  round: number;
  victim: string;
  /** Documents (of this scenario) each host owned just before the kill. */
  owners: Record<string, number>;
  affected: number;
  recoveredAckMs: number[];
  recoveredDeltaMs: number[];
  unaffectedAckMs: number[];
  failed: number;
  /** Restart of the victim's id: spawn → ready line, ms. */
  restartMs: number;
  /**
   * From the children's logs (wall-clock ms, so ±1 ms): kill → each proxy's `host.connection_lost`
   * for the victim; kill → `document.loaded` of each affected document on its new owner; the
   * proxies' `stream.reattach` lines for affected documents and the highest attempt number among them.
   */
  proxyNoticedMs: number[];
  documentLoadedMs: number[];
  reattaches: number;
  maxReattachAttempt: number;
  /** The error codes that caused those re-attaches (`code` of each `stream.reattach` line), with counts. */
  reattachCauses: Record<string, number>;
}

export interface FailoverResult {
  documents: number;
  roundsRun: number;
  affectedStreams: number;
  /** t0 (SIGKILL) → ack of the send issued at t0, over every affected stream of every round. */
  recoveryAck: LatencySummary;
  /** t0 → the same message in the client's own view. */
  recoveryDelta: LatencySummary;
  /** The same send on documents whose host was not killed. */
  unaffectedAck: LatencySummary;
  /** kill → a proxy logged the lost connection (one sample per proxy per round). */
  proxyNoticed: LatencySummary;
  /** kill → an affected document was loaded (replayed) on its new owner. */
  documentLoaded: LatencySummary;
  failedStreams: number;
  restart: LatencySummary;
  rounds: FailoverRound[];
  errors: number;
  errorSamples: Record<string, number>;
}

interface Stream {
  key: string;
  doc: AdamaDocument;
  waiting: { text: string; resolve(atMs: number): void } | null;
}

export async function runFailover(stack: SplitStack, data: DataService, o: FailoverOptions): Promise<FailoverResult> {
  const prefix = `fo-${Date.now().toString(36)}`;
  const errorSamples: Record<string, number> = {};
  let errors = 0;
  const noteError = (err: unknown): void => {
    errors++;
    const key = describeError(err);
    if (key in errorSamples || Object.keys(errorSamples).length < 5) errorSamples[key] = (errorSamples[key] ?? 0) + 1;
  };

  const setup = stack.client('fo-setup');
  const streams: Stream[] = [];
  for (let i = 0; i < o.documents; i++) {
    const key = `${prefix}-${i}`;
    await withTimeout(setup.createDocument('chat', key, { title: 'failover' }), o.opTimeoutMs, 'createDocument');
    const s: Stream = { key, waiting: null, doc: undefined as unknown as AdamaDocument };
    s.doc = stack.client(`fo${i}`, i % o.proxies).connect('chat', key, {
      onView: (view) => {
        const w = s.waiting;
        if (w && lastMessageText(view) === w.text) { s.waiting = null; w.resolve(nowMs()); }
      },
    });
    streams.push(s);
  }
  setup.close();
  await withTimeout(Promise.all(streams.map((s) => s.doc.ready)), o.opTimeoutMs, 'failover first views');

  /** Sends `text`; resolves with the ack time and the time the stream showed it (absolute ms). */
  const probe = (s: Stream, text: string, timeoutMs: number): Promise<{ ackAt: number; deltaAt: number }> => {
    const seen = new Promise<number>((resolve) => { s.waiting = { text, resolve }; });
    const acked = s.doc.send('say', { text }).then(() => nowMs());
    return withTimeout(Promise.all([acked, seen]), timeoutMs, `${s.key} message ${text}`)
      .then(([ackAt, deltaAt]) => ({ ackAt, deltaAt }))
      .finally(() => { if (s.waiting?.text === text) s.waiting = null; });
  };

  const rounds: FailoverRound[] = [];
  for (let r = 1; r <= o.rounds; r++) {
    try {
      await Promise.all(streams.map((s, i) => probe(s, `pre-${r}-${i}`, o.opTimeoutMs)));
    } catch (err) {
      noteError(err);
      break; // the stack did not come back from the previous round; later rounds would measure that
    }
    const rows = await Promise.all(streams.map((s) => data.lookup({ space: 'chat', key: s.key })));
    const owners: Record<string, number> = {};
    for (const id of stack.hostIds()) owners[id] = 0;
    for (const row of rows) if (row?.host) owners[row.host] = (owners[row.host] ?? 0) + 1;
    const victim = Object.entries(owners).filter(([id]) => stack.host(id)?.alive()).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
    if (victim === undefined) { noteError(new Error('no live host to kill')); break; }
    const affected = rows.map((row) => row?.host === victim);

    const affectedKeys = new Set(streams.filter((_, i) => affected[i]).map((s) => s.key));
    const round: FailoverRound = {
      round: r, victim, owners, affected: affectedKeys.size, recoveredAckMs: [], recoveredDeltaMs: [], unaffectedAckMs: [], failed: 0, restartMs: Number.NaN,
      proxyNoticedMs: [], documentLoadedMs: [], reattaches: 0, maxReattachAttempt: 0, reattachCauses: {},
    };
    const killWallMs = Date.now();
    const sinceKill = (entry: Record<string, unknown>): number => round1(Date.parse(String(entry.time)) - killWallMs);
    const unsubscribe = stack.onLog((child, entry) => {
      if (child.role === 'proxy' && entry.event === 'host.connection_lost' && entry.host === victim) round.proxyNoticedMs.push(sinceKill(entry));
      else if (child.role === 'proxy' && entry.event === 'stream.reattach' && affectedKeys.has(String(entry.key))) {
        round.reattaches++;
        round.maxReattachAttempt = Math.max(round.maxReattachAttempt, Number(entry.attempt) || 0);
        const code = Number(entry.code);
        const cause = `${code} ${errorByCode(code)?.name ?? '?'}`;
        round.reattachCauses[cause] = (round.reattachCauses[cause] ?? 0) + 1;
      } else if (child.role === 'host' && entry.event === 'document.loaded' && child.name !== victim && affectedKeys.has(String(entry.key))) round.documentLoadedMs.push(sinceKill(entry));
    });
    const t0 = nowMs();
    const exited = stack.killHost(victim);
    const outcomes = await Promise.allSettled(streams.map((s, i) => probe(s, `kill-${r}-${i}`, o.recoveryTimeoutMs)));
    unsubscribe();
    outcomes.forEach((out, i) => {
      if (out.status === 'rejected') { noteError(out.reason); if (affected[i]) round.failed++; return; }
      const ack = round1(out.value.ackAt - t0);
      if (affected[i]) { round.recoveredAckMs.push(ack); round.recoveredDeltaMs.push(round1(out.value.deltaAt - t0)); } else round.unaffectedAckMs.push(ack);
    });
    rounds.push(round);
    try {
      await withTimeout(exited, o.opTimeoutMs, `${victim} exit after SIGKILL`);
      const t1 = nowMs();
      await stack.startHost(victim);
      round.restartMs = round1(nowMs() - t1);
    } catch (err) {
      noteError(err);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, o.settleMs));
  }
  await withTimeout(Promise.all(streams.map((s) => s.doc.end().catch(() => undefined))), o.opTimeoutMs, 'ending failover streams').catch(noteError);
  const all = (pick: (r: FailoverRound) => number[]): number[] => rounds.flatMap(pick);
  return {
    documents: o.documents,
    roundsRun: rounds.length,
    affectedStreams: rounds.reduce((n, r) => n + r.affected, 0),
    recoveryAck: summarize(all((r) => r.recoveredAckMs)),
    recoveryDelta: summarize(all((r) => r.recoveredDeltaMs)),
    unaffectedAck: summarize(all((r) => r.unaffectedAckMs)),
    proxyNoticed: summarize(all((r) => r.proxyNoticedMs)),
    documentLoaded: summarize(all((r) => r.documentLoadedMs)),
    failedStreams: rounds.reduce((n, r) => n + r.failed, 0),
    restart: summarize(rounds.map((r) => r.restartMs).filter(Number.isFinite)),
    rounds,
    errors,
    errorSamples,
  };
}

const round1 = (ms: number): number => roundTo(ms, 1);
