/**
 * @module container-process
 * One run of one container: a child process with its stdout log lines (JSON, as every `adama`
 * command logs) and the tail of stderr kept for assertions and for saying why it died.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LogEntry } from '../child';
import { WORKDIR, type ProcessLine } from './image';

export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null; at: Date }

/** Bounded: a long test must not keep every log line of every restart. */
const MAX_LOG_LINES = 5_000;

export class ContainerProcess {
  readonly proc: ChildProcess;
  readonly logs: LogEntry[] = [];
  stderrTail = '';
  readonly startedAt = new Date();
  readonly exited: Promise<ExitStatus>;
  private readonly waiters: { match: (e: LogEntry) => boolean; resolve(e: LogEntry): void }[] = [];

  constructor(line: ProcessLine, env: Record<string, string>, private readonly onLog: (e: LogEntry) => void = () => undefined) {
    this.proc = spawn(line.file, line.argv, { env, cwd: WORKDIR, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      // 'error' (spawn failed) still ends in 'close'; 'close' waits for stdio, so every log line is in.
      this.proc.once('close', (code, signal) => resolve({ code, signal, at: new Date() }));
    });
    this.proc.once('error', () => undefined);
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      let entry: LogEntry;
      try { entry = JSON.parse(l) as LogEntry; } catch { entry = { msg: l }; }
      this.logs.push(entry);
      if (this.logs.length > MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES);
      for (const w of this.waiters.filter((x) => x.match(entry))) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(entry); }
      this.onLog(entry);
    });
    this.proc.stderr!.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + d.toString()).slice(-4_000); });
  }

  get running(): boolean { return this.proc.exitCode === null && this.proc.signalCode === null; }

  signal(sig: NodeJS.Signals): void { if (this.running) this.proc.kill(sig); }

  /** The first log line (seen or to come) that matches; rejects after timeoutMs or if the process exits first. */
  waitForLog(match: (e: LogEntry) => boolean, timeoutMs = 30_000): Promise<LogEntry> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`container: no matching log line in ${timeoutMs} ms`)), timeoutMs);
      void this.exited.then(() => { clearTimeout(timer); reject(new Error('container exited before a matching log line')); });
      this.waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }
}
