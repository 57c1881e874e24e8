/**
 * @module peer/chat-target
 * One interface over the two servers the peer benchmark drives, so every workload runs the same
 * code against both: join a chat document as one user on its own socket, see the text of the last
 * message after every change, send `say`.
 *
 * - adama: our SDK (client/index.ts), one AdamaClient (one socket) per user; `create` makes the
 *   document first; send() resolves on the durable ack.
 * - colyseus: the Colyseus SDK, one room connection (one socket) per user, joinOrCreate with the
 *   document key (the room filters by it); Colyseus has no ack for a message, so send() resolves
 *   when the sender's own state shows the message (the closest thing: the server applied it).
 * - relay: relay-server.ts, one plain `ws` socket per user; send() resolves on the sender's echo.
 */
import WebSocket from 'ws';
import { Client as ColyseusClient } from '@colyseus/sdk';
import { AdamaClient, type WebSocketFactory } from '../../client/index';
import type { Json } from '../../services/shared/json';
import { lastMessageText } from '../send-to-delta';

export type TargetKind = 'adama' | 'colyseus' | 'relay';

export interface ChatConnection {
  /** Sends `say` {text}; resolves on the server's acknowledgement (see the module comment). */
  send(text: string): Promise<void>;
  /** Sends `op` on another channel (the cards game); adama only. */
  sendOp?(channel: string, message: Json): Promise<void>;
  close(): Promise<void>;
}

export interface JoinOptions {
  space: string;
  key: string;
  agent: string;
  /** Create the document first (the first user of each document). */
  create: boolean;
  /** Called with the last message's text (chat) after every change the user sees. */
  onText?(text: string | undefined): void;
  /** Called with the whole view after every change (adama only). */
  onView?(view: Json): void;
  /** When set, connections are spread over these URLs by `index`. */
  index?: number;
}

export interface ChatTarget {
  readonly kind: TargetKind;
  join(o: JoinOptions): Promise<ChatConnection>;
}

/** The target a job names by kind and URLs (the load child and the sender thread build it alike). */
export function targetOf(t: { kind: TargetKind; urls: readonly string[] }): ChatTarget {
  return t.kind === 'adama' ? adamaTarget(t.urls) : t.kind === 'colyseus' ? colyseusTarget(t.urls[0]!) : relayTarget(t.urls[0]!);
}

export function adamaTarget(urls: readonly string[]): ChatTarget {
  return {
    kind: 'adama',
    async join(o) {
      const url = urls[(o.index ?? 0) % urls.length]!;
      const client = new AdamaClient({ url, identity: `anonymous:${o.agent}`, WebSocket: WebSocket as unknown as WebSocketFactory, maxSendAttempts: 20 });
      try {
        if (o.create) await client.createDocument(o.space, o.key, { title: 'bench' });
        const doc = client.connect(o.space, o.key, {
          onView: (view) => { o.onView?.(view); o.onText?.(lastMessageText(view)); },
        });
        await doc.ready;
        return {
          send: async (text) => { await doc.send('say', { text }); },
          sendOp: async (channel, message) => { await doc.send(channel, message); },
          close: async () => { await doc.end().catch(() => undefined); client.close(); },
        };
      } catch (err) {
        client.close();
        throw err;
      }
    },
  };
}

interface ColyseusMessage { text?: string }
interface ColyseusChatState { messages: ArrayLike<ColyseusMessage> }

/** A sender's messages in flight by text, each resolved when the sender sees that text come back. */
class Echoes {
  private readonly waiting = new Map<string, () => void>();
  pending(): boolean { return this.waiting.size > 0; }
  /** Registers `text`, then sends it; resolves when seen(text) is called. */
  after(text: string, send: () => void): Promise<void> {
    const seen = new Promise<void>((resolve) => { this.waiting.set(text, resolve); });
    send();
    return seen;
  }
  seen(text: string | undefined): void {
    const resolve = text === undefined ? undefined : this.waiting.get(text);
    if (resolve) { this.waiting.delete(text!); resolve(); }
  }
}

/**
 * Colyseus joins through an HTTP matchmaking request before the socket; with hundreds of joins at
 * once on a loaded machine a request can fail at the socket (UND_ERR_SOCKET). A user's client
 * would retry, so the benchmark does too (a few times, with a short growing pause).
 */
async function joinWithRetry<T>(join: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await join();
    } catch (err) {
      if (attempt >= JOIN_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
const JOIN_ATTEMPTS = 5;

/** Messages back from the end a Colyseus sender looks for its own sends (more than any workload keeps in flight). */
const PIPELINE_WINDOW = 128;

export function colyseusTarget(url: string): ChatTarget {
  const client = new ColyseusClient(url);
  return {
    kind: 'colyseus',
    async join(o) {
      const room = await joinWithRetry(() => client.joinOrCreate<ColyseusChatState>('chat', { key: o.key, agent: o.agent, title: 'bench' }));
      // With several sends in flight (prefill) one patch can carry several messages: look further back.
      const echoes = new Echoes();
      room.onStateChange((state) => {
        const ms = state.messages;
        if (echoes.pending()) for (let i = ms.length - 1; i >= Math.max(0, ms.length - PIPELINE_WINDOW); i--) echoes.seen(ms[i]?.text);
        o.onText?.(ms.length > 0 ? ms[ms.length - 1]?.text : undefined);
      });
      return {
        send: (text) => echoes.after(text, () => room.send('say', { text })),
        close: async () => { await room.leave(true).catch(() => undefined); },
      };
    },
  };
}

export function relayTarget(url: string): ChatTarget {
  return {
    kind: 'relay',
    async join(o) {
      const ws = new WebSocket(`${url}/?key=${encodeURIComponent(o.key)}`);
      await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
      const echoes = new Echoes();
      ws.on('message', (data) => {
        const text = (JSON.parse(String(data)) as { message?: { text?: string } }).message?.text;
        echoes.seen(text);
        o.onText?.(text);
      });
      return {
        // The frame our SDK sends for the same message, so the relay moves the same bytes.
        send: (text) => echoes.after(text, () => ws.send(JSON.stringify({ id: 1, method: 'connection/send', connection: 1, channel: 'say', message: { text } }))),
        close: async () => { ws.close(); },
      };
    },
  };
}
