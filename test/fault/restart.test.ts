/**
 * The single process on its embedded database, killed with SIGKILL: every acknowledged change is
 * there after a restart, and a client that resumes with `since` receives only what it missed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import { spawnAdama, type Child } from '../support/child';
import { RawSocket } from '../support/raw-socket';

describe('restart after SIGKILL (embedded PGlite in a data dir)', () => {
  let dataDir: string;
  let child: Child | undefined;
  beforeAll(() => { dataDir = mkdtempSync(join(tmpdir(), 'adama-restart-')); });
  afterAll(() => {
    child?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    child = await spawnAdama(['dev', '--port', '0', '--data-dir', dataDir], 'dev.ready');
    return String(child.ready.ws);
  };
  const client = (url: string, name: string) => new AdamaClient({ url, identity: `anonymous:${name}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 1 });

  it('keeps every acknowledged change and serves a resume with only the missed changes', async () => {
    let wsUrl = await start();
    const writer = client(wsUrl, 'writer');
    await writer.createDocument('chat', 'durable', {});
    await writer.createDocument('counter', 'durable', {});
    const chat = writer.connect('chat', 'durable');
    const counter = writer.connect('counter', 'durable');
    await Promise.all([chat.ready, counter.ready]);
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) {
      await chat.send('say', { text: `m${i}` });
      acked.push(`m${i}`);
    }
    await Promise.all(Array.from({ length: 20 }, () => counter.send('add', { by: 1 })));
    const resumeFrom = chat.seq!;
    // Changes the resuming reader has not seen yet.
    await chat.send('say', { text: 'after-1' });
    await chat.send('say', { text: 'after-2' });
    acked.push('after-1', 'after-2');
    writer.close();

    child!.proc.kill('SIGKILL');
    expect((await child!.exited).signal).toBe('SIGKILL');

    wsUrl = await start();
    const reader = client(wsUrl, 'reader');
    const c = reader.connect('counter', 'durable');
    const m = reader.connect('chat', 'durable');
    await Promise.all([c.ready, m.ready]);
    expect((c.view as { value: number }).value).toBe(20);
    expect((m.view as { messages: { text: string }[] }).messages.map((x) => x.text)).toEqual(acked);
    reader.close();

    const raw = await RawSocket.open(wsUrl);
    raw.send({ id: 1, method: 'connection/create', space: 'chat', key: 'durable', since: resumeFrom, identity: 'anonymous:writer' });
    const first = await raw.next((f) => f.deliver === 1);
    const delta = (first.response as { delta: { data: unknown; reset?: boolean } }).delta;
    expect(delta.reset).toBeUndefined();
    const texts = JSON.stringify(delta.data).match(/"text":"[^"]*"/g);
    expect(texts).toEqual(['"text":"after-1"', '"text":"after-2"']);
    raw.close();

    child!.proc.kill('SIGTERM');
    expect((await child!.exited).code).toBe(0);
    child = undefined;
  });
});
