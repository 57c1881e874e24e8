/**
 * A SIGTERM that arrives the moment a role says it is ready (a supervisor, Kubernetes or a test
 * may stop it at once) closes it gracefully: exit 0 after process.stopped, never the default
 * signal death nor a lost signal (run-until-signal.ts hands the early handlers over with no gap).
 */
import { spawnAdama } from '../support/child';
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
});
