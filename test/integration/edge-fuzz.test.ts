/**
 * Fuzzing the client protocol against a running proxy (an `adama dev` child): 3000 random and
 * mutated frames from a seeded PRNG over a few sockets. Every reply must be a valid server
 * frame, every close coded, the process must stay up with nothing unhandled on stderr, and its
 * memory must come back near the baseline once the sockets are gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { spawnAdama, type Child } from '../support/child';
import { freshDatabase, type FreshDatabase } from '../support/databases';
import { eventually } from '../support/edge-processes';
import { mulberry32 } from '../support/prng';

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const FRAMES = 3000;
const SOCKETS = 4;

const prng = mulberry32;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function fuzzer(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const str = (max: number) => Array.from({ length: int(max) }, () => String.fromCharCode(pick([32 + int(95), int(0xd7ff), int(32)]))).join('');
  const value = (depth = 0): Json => {
    switch (int(depth > 3 ? 5 : 8)) {
      case 0: return null;
      case 1: return rand() < 0.5;
      case 2: return pick([0, -1, 1.5, 2 ** 53, -(2 ** 60), 1e308, int(1000)]);
      case 3: return str(40);
      case 4: return pick(['counter', 'chat', 'cards', 'private-notes', 'nope', '../x', 'anonymous:fuzz', '']);
      case 5: return Array.from({ length: int(5) }, () => value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick(['id', 'method', 'space', 'key', 'connection', str(8)]), value(depth + 1)]));
    }
  };
  const templates = (): Record<string, Json>[] => [
    { id: int(50), method: 'auth', identity: pick(['anonymous:fuzz', 'anonymous:', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.', str(30)]) },
    { id: int(50), method: 'document/create', space: 'counter', key: `k${int(5)}`, arg: {} },
    { id: int(50), method: 'connection/create', space: pick(['counter', 'chat', 'private-notes']), key: `k${int(5)}` },
    { id: int(50), method: 'connection/send', connection: int(50), channel: pick(['add', 'say', 'write', 'x']), message: { by: 1, text: 'hi' } },
    { id: int(50), method: 'connection/update', connection: int(50), viewerState: value() },
    { id: int(50), method: 'connection/end', connection: int(50) },
    { pong: int(1e6) },
  ];
  return (): string | Buffer => {
    const r = rand();
    if (r < 0.1) return str(200);                                         // random text
    if (r < 0.15) return Buffer.from(Array.from({ length: int(64) }, () => int(256))); // binary
    if (r < 0.2) return JSON.stringify(value());                          // any JSON
    if (r < 0.23) return '['.repeat(1000 + int(20_000));                  // deep nesting
    if (r < 0.25) return JSON.stringify({ id: 1, method: 'auth', identity: 'x'.repeat(70_000 + int(10_000)) }); // over maxFrameBytes
    const frame = pick(templates());
    if (r < 0.55) return JSON.stringify(frame);                           // valid-looking
    const keys = Object.keys(frame);
    const mutated: Record<string, Json> = { ...frame };
    for (let m = 0; m <= int(3); m++) {
      const k = pick(keys);
      switch (int(4)) {
        case 0: delete mutated[k]; break;
        case 1: mutated[k] = value(); break;
        case 2: mutated[str(6)] = value(); break;
        default: mutated[k] = str(5000);
      }
    }
    const text = JSON.stringify(mutated);
    return rand() < 0.1 ? text.slice(0, int(text.length)) : text;         // sometimes truncated
  };
}

/** Is `f` one of the ServerFrame shapes of services/protocol/messages.ts? */
function isServerFrame(f: unknown): boolean {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return false;
  const o = f as Record<string, unknown>;
  if ('ping' in o) return typeof o.ping === 'number';
  if ('failure' in o) {
    return (o.failure === null || Number.isInteger(o.failure)) && Number.isInteger(o.code) && typeof o.message === 'string' && typeof o.retry === 'boolean'
      && (o.retryAfterMs === undefined || typeof o.retryAfterMs === 'number');
  }
  if ('deliver' in o) {
    if (!Number.isInteger(o.deliver) || typeof o.done !== 'boolean' || typeof o.response !== 'object' || o.response === null) return false;
    if (o.done) return true;
    const delta = (o.response as { delta?: { seq?: unknown } }).delta;
    return typeof delta === 'object' && delta !== null && typeof delta.seq === 'number';
  }
  return false;
}

describe('fuzzing the client protocol against a running proxy', () => {
  let child: Child;
  let dir: string;
  let db: FreshDatabase;
  let stderr = '';
  const health = async (gc = false) => (await (await fetch(`${String(child.ready.url)}healthz${gc ? '?gc=1' : ''}`)).json()) as { status: string; memory: { rssBytes: number; heapUsedBytes: number; gcRan: boolean } };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adama-fuzz-'));
    // The database lives outside the child (PostgreSQL, or PGlite served by this process), so the child is only proxy + host.
    db = await freshDatabase();
    child = await spawnAdama(['dev', '--port', '0', '--data-dir', dir, '--database-url', db.connectionString], 'dev.ready', { ADAMA_LOG_LEVEL: 'info', NODE_OPTIONS: '--expose-gc' }, 120_000);
    child.proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  }, 150_000);
  afterAll(async () => {
    if (child && child.proc.exitCode === null) { child.proc.kill('SIGTERM'); await child.exited; }
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${FRAMES} random and mutated frames with valid frames only, and stays up and lean (seed ${SEED})`, async () => {
    // Warm up (load spaces, JIT) before measuring the baseline.
    for (let i = 0; i < 3; i++) await health(true);
    const baseline = (await health(true)).memory;
    expect(baseline.gcRan).toBe(true);

    const next = fuzzer(prng(SEED));
    const invalid: string[] = [];
    const closes: { code: number; reason: string }[] = [];
    let replies = 0;
    const perSocket = FRAMES / SOCKETS;
    await Promise.all(Array.from({ length: SOCKETS }, async () => {
      let sent = 0;
      while (sent < perSocket) {
        const ws = new WebSocket(String(child.ready.ws));
        ws.on('message', (data) => {
          replies++;
          let frame: unknown;
          try { frame = JSON.parse(data.toString()); } catch { invalid.push(data.toString().slice(0, 200)); return; }
          if (!isServerFrame(frame)) invalid.push(data.toString().slice(0, 200));
        });
        const closed = new Promise<void>((r) => ws.on('close', (code, reason) => { closes.push({ code, reason: reason.toString() }); r(); }));
        ws.on('error', () => undefined);
        await new Promise<void>((r) => { ws.once('open', () => r()); ws.once('close', () => r()); });
        while (sent < perSocket && ws.readyState === WebSocket.OPEN) {
          ws.send(next());
          sent++;
          if (sent % 25 === 0) await new Promise((r) => setTimeout(r, 5));
        }
        await new Promise((r) => setTimeout(r, 300));
        ws.close();
        await closed;
      }
    }));

    expect(invalid).toEqual([]);
    expect(replies).toBeGreaterThan(FRAMES / 2);
    // Closes are ours (1000/1005 normal) or coded by the server (4000 + "<code> <NAME>", 1009 frame above the hard limit).
    for (const c of closes) expect([1000, 1005, 1009].includes(c.code) || (c.code === 4000 && /^\d{4} [A-Z_]+$/.test(c.reason))).toBe(true);
    expect(child.proc.exitCode).toBeNull();
    expect((await health()).status).toBe('ok');
    expect(stderr).not.toMatch(/Unhandled|unhandledRejection|uncaught|RangeError|TypeError/i);
    // A create whose arg holds \u0000 or a lone surrogate is refused at the edge (STRING_NOT_WELL_FORMED),
    // so nothing reaches PostgreSQL's jsonb to come back as INTERNAL.
    const internal = child.logs.filter((l) => l.event === 'request.internal_error');
    expect(internal).toEqual([]);

    let after = (await health(true)).memory;
    await eventually(async () => {
      after = (await health(true)).memory;
      return after.heapUsedBytes <= baseline.heapUsedBytes + 16 * 1024 * 1024;
    }, 15_000, 'heap back near baseline');
    console.log(`edge fuzz: ${FRAMES} frames, ${replies} replies, ${closes.length} sockets, ${internal.length} INTERNAL; heap ${(baseline.heapUsedBytes / 2 ** 20).toFixed(1)} → ${(after.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, rss ${(baseline.rssBytes / 2 ** 20).toFixed(1)} → ${(after.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    expect(after.rssBytes).toBeLessThanOrEqual(baseline.rssBytes + 96 * 1024 * 1024);
  }, 120_000);
});
