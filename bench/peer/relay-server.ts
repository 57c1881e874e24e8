/**
 * @module peer/relay-server
 * The floor under both servers: a bare `ws` server in its own process that keeps nothing and
 * relays every text frame a socket sends to every socket of the same room (`/?key=K`), the
 * sender included (its echo plays the ack). No state, no schema, no storage: what any chat
 * server must at least pay on this machine for the same sockets and frames. Prints
 * `{"event":"relay.ready","port":N}` when listening; exits on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws, req) => {
  const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? '';
  let room = rooms.get(key);
  if (!room) { room = new Set(); rooms.set(key, room); }
  const members = room;
  members.add(ws);
  ws.on('message', (data, isBinary) => { for (const peer of members) peer.send(data, { binary: isBinary }); });
  ws.on('close', () => { members.delete(ws); if (members.size === 0) rooms.delete(key); });
});
wss.once('listening', () => process.stdout.write(`${JSON.stringify({ event: 'relay.ready', port: (wss.address() as AddressInfo).port })}\n`));
process.once('SIGTERM', () => { for (const ws of wss.clients) ws.terminate(); wss.close(() => process.exit(0)); });
