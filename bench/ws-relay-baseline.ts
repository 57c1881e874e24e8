/**
 * @module ws-relay-baseline
 * The floor for the stack's latency: a bare `ws` server on 127.0.0.1 that relays every text frame
 * from socket A (path /a) to socket B (path /b), nothing else. Messages go one at a time (the next
 * after B received the previous one); the figure is A.send → B 'message', in the same process and
 * event loop as the stack measurements, with a frame of about the size the chat scenario sends.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { BenchConfig } from './config';
import { perSecond, summarize, type LatencySummary } from './stats';
import { nowMs, withTimeout } from './timing';

/** The relay is cheap, so it always warms up at least this much (its p99 is otherwise jumpy). */
const MIN_WARMUP = 200;

export interface RelayResult {
  latency: LatencySummary;
  msgsPerSec: number;
}

export async function runRelayBaseline(config: Readonly<BenchConfig>): Promise<RelayResult> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject); });
  const port = (wss.address() as AddressInfo).port;
  let b: WebSocket | null = null;
  const pendingA: Buffer[] = [];
  wss.on('connection', (ws, req) => {
    if (req.url === '/b') { b = ws; for (const m of pendingA.splice(0)) ws.send(m, { binary: false }); return; }
    ws.on('message', (data, isBinary) => {
      const frame = data as Buffer;
      if (b) b.send(frame, { binary: isBinary }); else pendingA.push(frame);
    });
  });
  const clientA = await connect(`ws://127.0.0.1:${port}/a`);
  const clientB = await connect(`ws://127.0.0.1:${port}/b`);
  try {
    let waiting: { text: string; resolve(atMs: number): void } | null = null;
    clientB.on('message', (data) => {
      const atMs = nowMs();
      const text = String(data);
      if (waiting && waiting.text === text) { const w = waiting; waiting = null; w.resolve(atMs); }
    });
    const sendOne = async (i: number): Promise<number> => {
      const text = JSON.stringify({ id: i, method: 'connection/send', connection: 3, channel: 'say', message: { text: `m${i}` } });
      const seen = new Promise<number>((resolve) => { waiting = { text, resolve }; });
      const t0 = nowMs();
      clientA.send(text);
      return (await withTimeout(seen, config.opTimeoutMs, `relay message ${i}`)) - t0;
    };
    for (let i = 0; i < Math.max(config.warmup, MIN_WARMUP); i++) await sendOne(-1 - i);
    const samplesMs: number[] = [];
    const startMs = nowMs();
    for (let i = 0; i < config.messages; i++) samplesMs.push(await sendOne(i));
    return { latency: summarize(samplesMs), msgsPerSec: perSecond(samplesMs.length, nowMs() - startMs) };
  } finally {
    clientA.close();
    clientB.close();
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
