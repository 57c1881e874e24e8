/**
 * The SDK across a server crash: the same client object reconnects with backoff after the
 * process is SIGKILLed and restarted on the same port and data, resumes its stream with `since`,
 * and keeps sending; its view stays equal to the document's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import type { Json } from '../../services/shared/json';
import { spawnAdama, type Child } from '../support/child';
import { waitFor } from '../support/cluster';
import { freePort } from '../support/ports';

describe('SDK reconnect after the server is killed and restarted', () => {
  let dataDir: string;
  let child: Child | undefined;
  beforeAll(() => { dataDir = mkdtempSync(join(tmpdir(), 'adama-sdk-')); });
  afterAll(() => {
    child?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reconnects, resumes the stream and keeps sending on the same client object', async () => {
    const port = await freePort();
    const start = async () => { child = await spawnAdama(['dev', '--port', String(port), '--data-dir', dataDir], 'dev.ready'); };
    await start();
    let sockets = 0;
    class Counting extends WebSocket { constructor(url: string) { super(url); sockets++; } }
    const client = new AdamaClient({ url: `ws://127.0.0.1:${port}/ws`, identity: 'anonymous:sticky', WebSocket: Counting as unknown as WebSocketFactory, initialBackoffMs: 50, maxBackoffMs: 500, maxSendAttempts: 30 });
    await client.createDocument('counter', 'sticky', {});
    const views = waitFor<Json>(30_000);
    const doc = client.connect('counter', 'sticky', { onView: (v) => views.push(v) });
    await doc.ready;
    for (let i = 0; i < 5; i++) await doc.send('add', { by: 1 });

    child!.proc.kill('SIGKILL');
    await child!.exited;
    // A send issued while the server is down is retried with its dedupe key until it lands.
    const pending = doc.send('add', { by: 10 });
    await start();
    await pending;
    await doc.send('add', { by: 100 });
    await views.until((v) => (v as { value: number }).value === 115);
    expect(sockets).toBeGreaterThan(1);
    client.close();
  }, 60_000);
});
