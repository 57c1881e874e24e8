/**
 * Spawns the real `adama` CLI (the compiled dist/, built by `npm test`'s pretest) as a child
 * process and waits for its ready log line. Used by fault tests that SIGKILL processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(__dirname, '..', '..', 'dist', 'services', 'cli', 'main.js');

export interface Child { proc: ChildProcess; ready: Record<string, unknown>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; logs: Record<string, unknown>[] }

/** Starts `adama <args>` and resolves once a JSON log line with `event === readyEvent` appears. */
export async function spawnAdama(args: string[], readyEvent: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<Child> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it for you)`);
  const proc = spawn(process.execPath, ['--no-node-snapshot', CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`adama ${args[0]} not ready in ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      logs.push(entry);
      if (entry.event === readyEvent) { clearTimeout(timer); resolve(entry); }
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    void exited.then((e) => { clearTimeout(timer); reject(new Error(`adama ${args[0]} exited early (${e.code ?? e.signal}): ${stderr.slice(-2000)}`)); });
  });
  return { proc, ready, exited, logs };
}
