/**
 * A SIGTERM that arrives the moment a role says it is ready (a supervisor, Kubernetes or a test
 * may stop it at once) closes it gracefully: exit 0 after process.stopped, never the default
 * signal death nor a lost signal (run-until-signal.ts hands the early handlers over with no gap).
 */
import { spawn } from 'node:child_process';
import { CLI, spawnAdama } from '../support/child';
import { freshStorage } from '../support/databases';

describe('SIGTERM at the ready line', () => {
  it('stops a locator gracefully every time', async () => {
    const storage = await freshStorage(2);
    try {
      for (let i = 0; i < 5; i++) {
        const locator = await spawnAdama(['locator', '--port', '0', '--database-url', storage.connectionString], 'locator.ready', { ADAMA_LOG_LEVEL: 'info' });
        locator.proc.kill('SIGTERM');
        expect(await locator.exited).toEqual({ code: 0, signal: null });
        await locator.waitForLog((l) => l.event === 'process.stopped', 1_000);
      }
    } finally {
      await storage.close();
    }
  }, 60_000);

  it('keeps a proxy waiting for a locator that does not answer yet, and still stops it on SIGTERM', async () => {
    // Nothing listens on port 1: the proxy must wait (its pollers' timers alone would let it end
    // quietly with exit 0), and a SIGTERM while it waits must end it within the start-up grace.
    const proxy = spawn(process.execPath, ['--no-node-snapshot', CLI, 'proxy', '--port', '0', '--locator', '127.0.0.1:1', '--insecure-internal', 'true', '--membership-poll-ms', '100'],
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ADAMA_LOG_LEVEL: 'info' } });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proxy.once('exit', (code, signal) => resolve({ code, signal })));
    let out = '';
    const polledTwice = new Promise<void>((resolve) => proxy.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if ((out.match(/membership\.poll_failed/g) ?? []).length >= 2) resolve();
    }));
    await polledTwice;
    expect(proxy.exitCode).toBeNull();
    proxy.kill('SIGTERM');
    expect(await exited).toEqual({ code: 143, signal: null });
  }, 30_000);
});
