/**
 * @module peer/colyseus-server
 * The peer in the benchmark: a Colyseus 0.18 server (`@colyseus/core` + `@colyseus/ws-transport`,
 * in memory, no persistence) in its own process, with a `chat` room equivalent to
 * examples/spaces/chat: a title, a list of messages {id, author, text, at} synchronized through
 * `@colyseus/schema` (so each patch carries only the new message), capped at the same 1 000
 * messages, and the present agents. One room per document key (`filterBy(['key'])`), so
 * `joinOrCreate('chat', { key })` plays the part of our createDocument + connect.
 *
 * Each `say` is patched to every client at once (`broadcastPatch()` in the handler), as our host
 * sends a delta per change, rather than on Colyseus's default 50 ms patch clock: that clock
 * would add up to 50 ms to every figure and measure the tick, not the server.
 *
 * Started by bench/peer/processes.ts (`node dist/bench/peer/colyseus-server.js`); prints one JSON
 * line `{"event":"colyseus.ready","port":N}` on stdout when listening; exits on SIGTERM.
 */
import { Room, Server, type Client } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { ArraySchema, Schema, defineTypes } from '@colyseus/schema';

/** Same bounds as examples/spaces/chat/index.js. */
const MAX_TEXT = 500;
const MAX_MESSAGES = 1000;

// Fields are `declare`d, not initialized: with ES2022 class fields an initializer would define an
// own property over the accessor defineTypes puts on the prototype, and nothing would be tracked.
class ChatMessage extends Schema {
  declare id: number;
  declare author: string;
  declare text: string;
  declare at: number;
}
defineTypes(ChatMessage, { id: 'number', author: 'string', text: 'string', at: 'number' });

class ChatState extends Schema {
  declare title: string;
  declare messages: ArraySchema<ChatMessage>;
  declare present: ArraySchema<string>;
}
defineTypes(ChatState, { title: 'string', messages: [ChatMessage], present: ['string'] });

interface JoinOptions { key?: string; title?: string; agent?: string }

class ChatRoom extends Room {
  private nextId = 1;
  private readonly agents = new Map<string, number>();
  override maxClients = 100_000;

  override onCreate(options: JoinOptions): void {
    const state = new ChatState();
    state.messages = new ArraySchema<ChatMessage>();
    state.present = new ArraySchema<string>();
    state.title = typeof options.title === 'string' ? options.title.slice(0, 100) : 'Chat';
    this.setState(state);
    this.onMessage('say', (client: Client, message: unknown) => {
      const raw = (message as { text?: unknown } | null)?.text;
      const text = typeof raw === 'string' ? raw.trim() : '';
      if (!text || text.length > MAX_TEXT) { client.send('error', { code: 'bad_text' }); return; }
      const m = new ChatMessage();
      m.id = this.nextId++;
      m.author = String((client.userData as { agent?: string } | undefined)?.agent ?? client.sessionId);
      m.text = text;
      m.at = Date.now();
      const st = this.state as ChatState;
      st.messages.push(m);
      if (st.messages.length > MAX_MESSAGES) st.messages.shift();
      this.broadcastPatch();
    });
  }

  override onJoin(client: Client, options: JoinOptions): void {
    const agent = typeof options.agent === 'string' ? options.agent : client.sessionId;
    client.userData = { agent };
    const n = this.agents.get(agent) ?? 0;
    this.agents.set(agent, n + 1);
    // Kept as the example chat keeps it (the sorted list of present agents, sent on each join).
    if (n === 0) this.setPresent();
  }

  override onLeave(client: Client): void {
    const agent = (client.userData as { agent?: string } | undefined)?.agent ?? client.sessionId;
    const n = (this.agents.get(agent) ?? 1) - 1;
    if (n > 0) this.agents.set(agent, n); else { this.agents.delete(agent); this.setPresent(); }
  }

  private setPresent(): void {
    const st = this.state as ChatState;
    st.present.clear();
    for (const a of [...this.agents.keys()].sort()) st.present.push(a);
  }
}

async function main(): Promise<void> {
  const server = new Server({ transport: new WebSocketTransport(), greet: false } as ConstructorParameters<typeof Server>[0]);
  server.define('chat', ChatRoom).filterBy(['key']);
  const port = Number(process.env.COLYSEUS_PORT ?? 0) || await freePort();
  await server.listen(port, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ event: 'colyseus.ready', port })}\n`);
  process.once('SIGTERM', () => { void server.gracefullyShutdown(false).finally(() => process.exit(0)); });
}

/** Colyseus's listen() does not report port 0's choice portably, so ask the OS for a free one first. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`colyseus server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
