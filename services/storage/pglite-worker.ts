/**
 * @module pglite-worker
 * Runs PGlite on a worker thread and executes raw wire-protocol bytes there.
 *
 * Why a thread: PGlite executes SQL synchronously inside WebAssembly, so on the main thread every
 * query would stall the process's sockets and timers for its whole duration. It also keeps PGlite
 * out of Jest's module sandbox, where PGlite's own `import('fs/promises')` fails with "A dynamic
 * import callback was invoked without --experimental-vm-modules".
 *
 * The worker body is plain JavaScript in a string (a TypeScript file cannot be loaded by a worker
 * without a build step); it only relays messages, all logic stays on the main thread.
 *
 * In-memory databases start from a template: the first one in a process runs initdb (~1.5-2.5 s)
 * and hands back a copy of its pristine data directory (~40 MB); later ones load that copy
 * (~0.35 s). Tests that each want an empty database depend on this to stay fast.
 */
import { spawn } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { once } from '../shared/once';

export interface ExecResult {
  /** Every byte PGlite answered, ending with ReadyForQuery when the exchange is complete. */
  readonly response: Uint8Array;
  /** Whether a transaction block is open after these messages (BEGIN without COMMIT/ROLLBACK yet). */
  readonly inTransaction: boolean;
}

export interface PGliteWorker {
  exec(bytes: Uint8Array): Promise<ExecResult>;
  /** Closes PGlite (flushing a persistent data directory) and ends the thread. */
  close(): Promise<void>;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'template'; bytes: Uint8Array }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; response: Uint8Array; inTransaction: boolean }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);
(async () => {
  let db;
  try {
    const postgresqlconf = workerData.postgresqlconf;
    if (workerData.dataDir) db = await PGlite.create({ dataDir: workerData.dataDir, postgresqlconf });
    else if (workerData.template) db = await PGlite.create({ loadDataDir: new Blob([workerData.template]), postgresqlconf });
    else db = await PGlite.create({ postgresqlconf });
    if (workerData.makeTemplate) {
      const bytes = new Uint8Array(await (await db.dumpDataDir('none')).arrayBuffer());
      parentPort.postMessage({ type: 'template', bytes }, [bytes.buffer]);
    }
  } catch (err) {
    parentPort.postMessage({ type: 'failed', message: String((err && err.stack) || err) });
    return;
  }
  parentPort.on('message', async (msg) => {
    if (msg.type === 'close') {
      try { await db.close(); } finally { parentPort.postMessage({ type: 'closed' }); }
      return;
    }
    try {
      const chunks = [];
      let size = 0;
      // PGlite hands out views of its WebAssembly memory: copy each chunk before the next query.
      await db.execProtocolRawStream(msg.bytes, { onRawData: (d) => { chunks.push(d.slice()); size += d.length; } });
      const response = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) { response.set(c, at); at += c.length; }
      parentPort.postMessage({ type: 'result', id: msg.id, response, inTransaction: db.isInTransaction() }, [response.buffer]);
    } catch (err) {
      parentPort.postMessage({ type: 'error', id: msg.id, message: String((err && err.message) || err) });
    }
  });
  parentPort.postMessage({ type: 'ready' });
})();
`;

/**
 * Settings for the embedded database. shared_buffers: PostgreSQL's 128 MB default is sized for a
 * server; one PGlite session serving a laptop's documents does not need it, and it is the largest
 * part of the worker's memory (a dev process at rest: 309 -> 187 MB for PGlite alone). The
 * operating system's page cache still holds the data files.
 */
const POSTGRESQL_CONF = ['shared_buffers=16MB'];

/** initdb into a data directory, run by a child process (see initDataDir). */
const INIT_SOURCE = `
const [pglitePath, dataDir, conf] = process.argv.slice(1);
require(pglitePath).PGlite.create({ dataDir, postgresqlconf: JSON.parse(conf) })
  .then((db) => db.close())
  .then(() => process.exit(0), (err) => { process.stderr.write(String((err && err.stack) || err)); process.exit(1); });
`;

/**
 * Runs initdb into `dataDir` in a child process. initdb grows PGlite's WebAssembly memory to about
 * twice what serving needs; on a thread of this process, the memory stayed with the process after
 * the thread ended (RSS of adama dev at rest on a fresh data dir: 338 MB with a thread, against
 * 203 MB on an existing one); an exiting process gives it all back.
 */
async function initDataDir(dataDir: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', INIT_SOURCE, require.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(POSTGRESQL_CONF)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4_000); });
  const [code, signal] = (await onceEvent(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`PGlite failed to initialise ${dataDir} (exit ${code ?? signal}): ${stderr.trim()}`);
}

/** A pristine in-memory data directory, once the first in-memory database of this process made one. */
let template: Uint8Array | null = null;
let templateRequested = false;

export async function startPGliteWorker(options: { dataDir?: string }): Promise<PGliteWorker> {
  // initdb grows the WebAssembly memory to about twice what serving needs, and WebAssembly memory
  // never shrinks: a fresh data directory is initialised by a process of its own that then exits,
  // so the serving thread starts from files like any restart.
  if (options.dataDir !== undefined && !existsSync(join(options.dataDir, 'PG_VERSION'))) {
    await initDataDir(options.dataDir);
  }
  const inMemory = options.dataDir === undefined;
  const makeTemplate = inMemory && !templateRequested;
  if (makeTemplate) templateRequested = true;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      pglitePath: require.resolve('@electric-sql/pglite'),
      dataDir: options.dataDir ?? null,
      template: inMemory ? template : null,
      makeTemplate,
      postgresqlconf: POSTGRESQL_CONF,
    },
  });
  const pending = new Map<number, { resolve: (r: ExecResult) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  let onClosed: (() => void) | null = null;

  const failAll = (err: Error): void => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'ready': resolve(); break;
        case 'template': template = msg.bytes; break;
        case 'failed': reject(new Error(`PGlite failed to start: ${msg.message}`)); break;
        case 'result': pending.get(msg.id)?.resolve({ response: msg.response, inTransaction: msg.inTransaction }); pending.delete(msg.id); break;
        case 'error': pending.get(msg.id)?.reject(new Error(`PGlite: ${msg.message}`)); pending.delete(msg.id); break;
        case 'closed': onClosed?.(); break;
      }
    });
    worker.on('error', (err) => { failAll(err); reject(err); });
    worker.on('exit', (code) => { failAll(new Error(`PGlite worker exited (code ${code})`)); reject(new Error(`PGlite worker exited (code ${code})`)); });
  });
  try {
    await ready;
  } catch (err) {
    if (makeTemplate && template === null) templateRequested = false;
    await worker.terminate();
    throw err;
  }

  return {
    exec(bytes) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      return new Promise<ExecResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: 'exec', id, bytes });
      });
    },
    close: once(async () => {
      if (!dead) {
        await new Promise<void>((resolve) => { onClosed = resolve; worker.once('exit', () => resolve()); worker.postMessage({ type: 'close' }); });
      }
      await worker.terminate();
    }),
  };
}
