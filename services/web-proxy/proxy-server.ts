/**
 * @module proxy-server
 * The web-proxy's HTTP shell: the WebSocket endpoint at /ws, /healthz, and static files (the
 * demo page) from one port. Graceful close: stop accepting, close sockets with 1001 so clients
 * reconnect elsewhere, then stop the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { E } from '../shared/errors';
import type { Logger } from '../shared/log';
import type { ProxyConfig } from '../shared/config';
import type { HostClient } from '../adama-host/host-api';
import { SocketSession } from './socket-session';
import { noopTelemetry, type AdamaMetrics } from '../shared/telemetry';

export interface ProxyServerOptions {
  port: number;
  /** Interface to bind; loopback by default so nothing is exposed by accident. */
  bindAddress?: string;
  host: HostClient;
  config: Readonly<ProxyConfig>;
  log: Logger;
  /** Directory of static files served at / (the demo page); none when undefined. */
  staticDir?: string;
  /** Extra health facts merged into /healthz. */
  health?: () => Record<string, unknown>;
  metrics?: AdamaMetrics;
}

export interface RunningProxy {
  port: number;
  url: string;
  sessions(): number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

export async function startProxyServer(o: ProxyServerOptions): Promise<RunningProxy> {
  const sessions = new Set<SocketSession>();
  const metrics = o.metrics ?? noopTelemetry().metrics;
  let nextConn = 1;
  let closing = false;
  const http: Server = createServer((req, res) => void serveHttp(req, res, o, () => ({ sessions: sessions.size, closing })));
  const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: o.config.hardMaxFrameBytes });
  wss.on('connection', (ws) => {
    if (closing) { ws.close(1001, `${E.HOST_SHUTTING_DOWN.code} ${E.HOST_SHUTTING_DOWN.name}`); return; }
    const session = new SocketSession(ws, { host: o.host, config: o.config, log: o.log, metrics, connId: nextConn++ });
    sessions.add(session);
    ws.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.bindAddress ?? '127.0.0.1', () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info({ port }, 'proxy.listening');
  return {
    port,
    url: `http://${o.bindAddress && o.bindAddress !== '0.0.0.0' ? o.bindAddress : '127.0.0.1'}:${port}`,
    sessions: () => sessions.size,
    async close() {
      closing = true;
      for (const s of sessions) s.close(E.HOST_SHUTTING_DOWN, 1001);
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

async function serveHttp(req: IncomingMessage, res: ServerResponse, o: ProxyServerOptions, state: () => { sessions: number; closing: boolean }): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path === '/healthz') {
    const s = state();
    res.writeHead(s.closing ? 503 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: s.closing ? 'shutting_down' : 'ok', sessions: s.sessions, ...o.health?.() }));
    return;
  }
  if (!o.staticDir || (req.method !== 'GET' && req.method !== 'HEAD')) { res.writeHead(404).end(); return; }
  const relative = normalize(path === '/' ? '/index.html' : path).replace(/^([/\\])+/, '');
  if (relative.startsWith('..')) { res.writeHead(404).end(); return; }
  try {
    const body = await readFile(join(o.staticDir, relative));
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(relative)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404).end();
  }
}
