/**
 * @module spawn-role
 * Starts `adama <role> ...` as a child process of this CLI and resolves once its ready log line
 * appears. Its logs go to a file; the child dies with a clear error if it exits before ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface RoleProcess { name: string; proc: ChildProcess; ready: Record<string, unknown>; exited: Promise<number | null> }

export function spawnRole(name: string, args: string[], readyEvent: string, logFile: string, timeoutMs = 60_000): Promise<RoleProcess> {
  const proc = spawn(process.execPath, ['--no-node-snapshot', process.argv[1]!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(logFile, { flags: 'a' });
  proc.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} was not ready after ${timeoutMs} ms (see ${logFile})`)), timeoutMs);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      out.write(line + '\n');
      let entry: Record<string, unknown> | undefined;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      if (entry.event === readyEvent) { clearTimeout(timer); resolve({ name, proc, ready: entry, exited }); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code} before it was ready (see ${logFile})`)); });
  });
}
