/**
 * Spawns the real `adama` CLI (the compiled dist/, built by `npm test`'s pretest) as a child
 * process and waits for its ready log line. Used by fault tests that SIGKILL processes, and (via
 * spawnLogged and runCommand) by the image test, whose roles run inside `buildah run`.
 */
import { internalTlsEnv } from './internal-pki';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(__dirname, '..', '..', 'dist', 'services', 'cli', 'main.js');

export type LogEntry = Record<string, unknown>;

export interface Child {
  proc: ChildProcess;
  ready: LogEntry;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs: LogEntry[];
  /** The first log line (already seen or still to come) that matches; rejects after timeoutMs or if the child exits first. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
}

/** Starts `adama <args>` and resolves once a JSON log line with `event === readyEvent` appears. */
export async function spawnAdama(args: string[], readyEvent: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<Child> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it for you)`);
  return spawnLogged(process.execPath, ['--no-node-snapshot', CLI, ...args], { label: `adama ${args[0]}`, readyEvent, env: { ...process.env, ...internalTlsEnv(args, env), ...env }, timeoutMs });
}

export interface SpawnLoggedOptions {
  /** Names the process in errors, e.g. `adama host`. */
  label: string;
  readyEvent: string;
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Own process group, so that a wrapper (e.g. `buildah run`) and what it started can be killed together. */
  detached?: boolean;
  /** Told of the process as soon as it exists, so a caller can clean it up even if it never gets ready. */
  onSpawn?(proc: ChildProcess): void;
}

/**
 * Starts any command that logs JSON lines on stdout (an `adama` role, directly or through a
 * wrapper such as `buildah run`) and resolves once a line with `event === readyEvent` appears.
 */
export async function spawnLogged(command: string, argv: string[], o: SpawnLoggedOptions): Promise<Child> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const proc = spawn(command, argv, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: o.detached ?? false });
  o.onSpawn?.(proc);
  const logs: LogEntry[] = [];
  const waiters: { match: (e: LogEntry) => boolean; resolve(e: LogEntry): void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${o.label} not ready in ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      logs.push(entry);
      for (const w of waiters.filter((x) => x.match(entry))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(entry); }
      if (entry.event === o.readyEvent) { clearTimeout(timer); resolve(entry); }
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    proc.once('error', (err) => { clearTimeout(timer); reject(err); });
    void exited.then((e) => { clearTimeout(timer); reject(new Error(`${o.label} exited early (${e.code ?? e.signal}): ${stderr.slice(-2000)}`)); });
  });
  const waitForLog = (match: (e: LogEntry) => boolean, waitMs = 30_000): Promise<LogEntry> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogEntry>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${o.label}: no matching log line in ${waitMs} ms`)), waitMs);
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${o.label} exited before a matching log line`)); });
      waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  };
  return { proc, ready, exited, logs, waitForLog };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs a one-shot `adama <args>` (e.g. `host drain-self`) to its exit; never rejects on a non-zero exit. */
export function runAdama(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it for you)`);
  return runCommand(process.execPath, ['--no-node-snapshot', CLI, ...args], { env: { ...process.env, ...internalTlsEnv(args, env), ...env }, timeoutMs });
}

/** Runs `command argv` to its exit and collects its output; rejects only if it cannot start or outlives timeoutMs (then it is killed). */
export function runCommand(command: string, argv: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const proc = spawn(command, argv, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${command} ${argv.join(' ')} did not exit in ${timeoutMs} ms: ${stderr.slice(-2000)}`)); }, timeoutMs);
    proc.once('error', (err) => { clearTimeout(timer); reject(err); });
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
