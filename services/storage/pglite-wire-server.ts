/**
 * @module pglite-wire-server
 * Serves one PGlite instance to many PostgreSQL wire-protocol clients (the connections of a
 * `pg.Pool`) on loopback.
 *
 * Why not `PGLiteSocketServer` from @electric-sql/pglite-socket 0.2.17: its multiplexer queues
 * single protocol messages. When a client's Parse/Bind/Execute/Sync sequence arrives in more than
 * one TCP read (any query with parameters over ~64 KiB), messages of other clients run in between
 * and replace the one unnamed statement of PGlite's single session, so the first client's Bind runs
 * someone else's SQL ("bind message supplies 2 parameters, but prepared statement "" requires 1",
 * or silently, when the parameter counts agree). PGlite has exactly one backend session, so the
 * unit of exclusivity must be a whole exchange up to ReadyForQuery. This server queues whole
 * batches (every message up to a Sync or a simple Query) and keeps a client exclusive for as long
 * as its exchange is unfinished: an open transaction block, a Flush without Sync, or COPY.
 *
 * Consequences for callers: session state is shared by every client (no SET, no named prepared
 * statements, no advisory locks, no LISTEN), and one client's open transaction stalls the others.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ExecResult } from './pglite-worker';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

const TYPE = { parse: 0x50, bind: 0x42, describe: 0x44, execute: 0x45, close: 0x43, sync: 0x53, query: 0x51, terminate: 0x58 } as const;
/** Extended-protocol messages that only make sense together with what follows them, up to Sync. */
const CONTINUES_BATCH: ReadonlySet<number> = new Set([TYPE.parse, TYPE.bind, TYPE.describe, TYPE.execute, TYPE.close]);
/** Marks the startup packet, which has no type byte. */
const STARTUP = -1;

interface Conn {
  readonly socket: Socket;
  /** Chunks received but not yet framed into whole messages; joined only once `need` bytes are here. */
  pending: Buffer[];
  pendingBytes: number;
  /** Bytes required before framing can make progress (a header, or a whole large message). */
  need: number;
  /** Whole messages of the batch being assembled, sent to PGlite together. */
  batch: Buffer[];
  started: boolean;
  closed: boolean;
}

interface Job { readonly conn: Conn; readonly bytes: Uint8Array; readonly lastType: number }

export interface WireServerOptions {
  /** Runs raw protocol messages on the single PGlite session (see pglite-worker.ts). */
  exec(bytes: Uint8Array): Promise<ExecResult>;
  host: string;
  /** 0 lets the OS pick a free port. */
  port: number;
  /** Connections beyond this are refused with SQLSTATE 53300 (too_many_connections). */
  maxConnections: number;
}

export class PGliteWireServer {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  /** Every open socket, refused ones included, so stop() can close them all. */
  private readonly sockets = new Set<Socket>();
  private readonly queue: Job[] = [];
  /** The client whose exchange is unfinished; only its batches may run until it finishes. */
  private owner: Conn | null = null;
  private pumping: Promise<void> | null = null;

  constructor(private readonly opts: WireServerOptions) {}

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.server) throw new Error('PGliteWireServer already started');
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', reject); resolve(); });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('PGliteWireServer: no TCP address');
    return address.port;
  }

  /** Stops accepting, drops every client, and waits until PGlite is idle so it can be closed. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    // Socket close handlers may still be queued; let them schedule the rollback of an open block.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pumping) await this.pumping;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => { /* 'close' follows and does the cleanup */ });
    if (this.conns.size >= this.opts.maxConnections) {
      // Keep reading (and discarding) so the client's FIN is seen and the socket really closes.
      socket.resume();
      socket.end(errorResponse('53300', `PGlite server allows ${this.opts.maxConnections} connections`));
      return;
    }
    const conn: Conn = { socket, pending: [], pendingBytes: 0, need: 8, batch: [], started: false, closed: false };
    this.conns.add(conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('close', () => this.drop(conn));
  }

  /** Frames incoming bytes into messages and queues each finished batch. */
  private receive(conn: Conn, chunk: Buffer): void {
    conn.pending.push(chunk);
    conn.pendingBytes += chunk.length;
    // Joining only when enough has arrived keeps a multi-megabyte message linear, not quadratic.
    if (conn.pendingBytes < conn.need) return;
    let buf = conn.pending.length === 1 ? chunk : Buffer.concat(conn.pending, conn.pendingBytes);
    buf = this.frame(conn, buf);
    conn.pending = buf.length > 0 ? [buf] : [];
    conn.pendingBytes = buf.length;
  }

  /** Consumes every whole message at the front of `buf`; returns the unconsumed rest and sets `need`. */
  private frame(conn: Conn, buf: Buffer): Buffer {
    for (;;) {
      if (!conn.started) {
        if (buf.length < 8) { conn.need = 8; return buf; }
        const length = buf.readInt32BE(0);
        if (buf.length < length) { conn.need = length; return buf; }
        const code = buf.readInt32BE(4);
        const packet = buf.subarray(0, length);
        buf = buf.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) { conn.socket.write('N'); continue; }
        // PGlite has no backend process to interrupt; a cancel connection just goes away.
        if (code === CANCEL_REQUEST) { conn.socket.end(); return Buffer.alloc(0); }
        conn.started = true;
        this.enqueue({ conn, bytes: packet, lastType: STARTUP });
        continue;
      }
      if (buf.length < 5) { conn.need = 5; return buf; }
      const length = 1 + buf.readInt32BE(1);
      if (buf.length < length) { conn.need = length; return buf; }
      const type = buf[0] ?? 0;
      const msg = buf.subarray(0, length);
      buf = buf.subarray(length);
      if (type === TYPE.terminate) { conn.socket.end(); return Buffer.alloc(0); }
      conn.batch.push(msg);
      if (CONTINUES_BATCH.has(type)) continue;
      const parts = conn.batch;
      conn.batch = [];
      this.enqueue({ conn, bytes: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), lastType: type });
    }
  }

  private drop(conn: Conn): void {
    conn.closed = true;
    this.conns.delete(conn);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]?.conn === conn) this.queue.splice(i, 1);
    this.kick(); // if it owned the session, its open transaction must be rolled back now
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.kick();
  }

  private kick(): void {
    if (this.pumping || !this.runnable()) return;
    this.pumping = this.pump().finally(() => { this.pumping = null; this.kick(); });
  }

  private runnable(): boolean {
    if (this.owner === null) return this.queue.length > 0;
    return this.owner.closed || this.queue.some((j) => j.conn === this.owner);
  }

  private next(): Job | undefined {
    if (this.owner === null) return this.queue.shift();
    const i = this.queue.findIndex((j) => j.conn === this.owner);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.owner?.closed) await this.abandon();
      const job = this.next();
      if (!job) return;
      let finished = false;
      try {
        const { response } = await this.opts.exec(job.bytes);
        if (!job.conn.closed) job.conn.socket.write(response);
        finished = (job.lastType === TYPE.sync || job.lastType === TYPE.query || job.lastType === STARTUP)
          && readyStatus(response) === 'I';
      } catch (err) {
        // PGlite itself failed (SQL errors travel inside the protocol instead): drop the client.
        job.conn.socket.destroy(err instanceof Error ? err : new Error(String(err)));
      }
      this.owner = finished ? null : job.conn;
    }
  }

  /** The owner disconnected mid-exchange: end its extended exchange and roll back its transaction block. */
  private async abandon(): Promise<void> {
    try {
      const { inTransaction } = await this.opts.exec(message(TYPE.sync, Buffer.alloc(0)));
      if (inTransaction) await this.opts.exec(message(TYPE.query, Buffer.from('ROLLBACK\0')));
    } catch {
      // PGlite is gone; there is nothing left to roll back.
    } finally {
      this.owner = null;
    }
  }
}

/** 'I' idle, 'T' in a transaction block, 'E' in a failed block, null if the response does not end with ReadyForQuery. */
function readyStatus(response: Uint8Array): string | null {
  const n = response.length;
  if (n < 6 || response[n - 6] !== 0x5a) return null;
  const length = Buffer.from(response.buffer, response.byteOffset + n - 5, 4).readInt32BE(0);
  return length === 5 ? String.fromCharCode(response[n - 1] ?? 0) : null;
}

function message(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function errorResponse(sqlstate: string, text: string): Buffer {
  return message(0x45, Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${text}\0\0`, 'utf8'));
}
