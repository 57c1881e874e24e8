/**
 * @module peer/sender-thread
 * The viewers workload's sender on a worker thread of the load generator, so its ack is read on
 * an event loop of its own. On the main thread, with 1 000 viewer sockets in the same process, the
 * ack waited in line behind the deliveries of the previous message that arrived in the same poll,
 * and "ack p99 at 1 000 viewers" measured the load generator, for Colyseus as for us. Both servers
 * get the same treatment (the worker runs whichever target the job names).
 *
 * `ThreadSender` (main thread) is a ChatConnection whose send() resolves on the ack and records the
 * ack latency the worker measured between its own send and its own receipt of the ack.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { targetOf, type ChatConnection, type JoinOptions, type TargetKind } from './chat-target';

interface SenderData { target: { kind: TargetKind; urls: string[] }; join: Omit<JoinOptions, 'onText' | 'onView'> }
type ToWorker = { type: 'send'; id: number; text: string } | { type: 'close' };
type FromWorker =
  | { type: 'joined' }
  | { type: 'acked'; id: number; ackMs: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed' };

/** A ChatConnection whose socket lives on a worker thread; `lastAckMs` is the worker's own measure. */
export class ThreadSender implements ChatConnection {
  lastAckMs = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(e: Error): void }>();
  private closed: (() => void) | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'acked') { this.lastAckMs = m.ackMs; this.pending.get(m.id)?.resolve(); this.pending.delete(m.id); }
      else if (m.type === 'failed') { this.pending.get(m.id)?.reject(new Error(m.message)); this.pending.delete(m.id); }
      else if (m.type === 'closed') this.closed?.();
    });
  }

  static open(data: SenderData): Promise<ThreadSender> {
    const worker = new Worker(join(__dirname, 'sender-thread.js'), { workerData: { ...data, senderThread: true } });
    return new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: FromWorker | { type: 'error'; message: string }) => {
        if (m.type === 'joined') resolve(new ThreadSender(worker));
        else reject(new Error(`sender thread: ${'message' in m ? m.message : m.type}`));
      });
    });
  }

  send(text: string): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'send', id, text } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    const done = new Promise<void>((resolve) => { this.closed = resolve; });
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
    await this.worker.terminate();
  }
}

async function runWorker(data: SenderData): Promise<void> {
  const port = parentPort!;
  let connection: ChatConnection;
  try {
    connection = await targetOf(data.target).join(data.join);
  } catch (err) {
    port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  port.postMessage({ type: 'joined' } satisfies FromWorker);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'close') {
      void connection.close().finally(() => port.postMessage({ type: 'closed' } satisfies FromWorker));
      return;
    }
    const t0 = performance.now();
    connection.send(m.text).then(
      () => port.postMessage({ type: 'acked', id: m.id, ackMs: performance.now() - t0 } satisfies FromWorker),
      (err: unknown) => port.postMessage({ type: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) } satisfies FromWorker),
    );
  });
}

if (!isMainThread && (workerData as { senderThread?: true } | undefined)?.senderThread === true) {
  void runWorker(workerData as SenderData);
}
