/**
 * @module proxy-server
 * The web-proxy's HTTP shell: the WebSocket endpoint at /ws, /healthz, the HTTP API at /api/
 * (http-api.ts: messages to channels from other systems), and static files (the
 * demo page) from one port, over TLS when the edge config names a certificate and key. Browser
 * upgrades from an Origin that is not allowed are refused with HTTP 403 before any socket exists.
 * Graceful close: stop accepting, close sockets with 1001 so clients reconnect elsewhere, then
 * stop the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { E } from '../shared/errors';
import type { Logger } from '../shared/log';
import type { ProxyConfig } from '../shared/config';
import type { HostClient } from '../protocol/host-api';
import { SocketSession } from './socket-session';
import { noopTelemetry, type AdamaMetrics } from '../shared/telemetry';
import type { Tracer } from '@opentelemetry/api';
import type { Edge } from './edge/start-edge';
import { isOriginAllowed } from './edge/origin-check';
import { HTTP_API_PREFIX, serveHttpApi } from './http-api';

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
  tracer?: Tracer;
  /** Authentication, rate limits, origins and TLS (edge/start-edge.ts). */
  edge: Edge;
}

export interface RunningProxy {
  port: number;
  /** http(s)://host:port, no trailing slash. */
  url: string;
  /** The demo page's address (url + '/'). */
  pageUrl: string;
  /** ws(s)://host:port/ws, where clients connect. */
  wsUrl: string;
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
  const tracer = o.tracer ?? noopTelemetry().tracer;
  let nextConn = 1;
  let closing = false;
  const edge = o.edge.config;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void serveHttp(req, res, o, metrics, () => ({ sessions: sessions.size, closing }));
  const tls = edge.tlsCertFile !== undefined && edge.tlsKeyFile !== undefined;
  const http: Server = tls ? createTlsServer({ cert: readFileSync(edge.tlsCertFile!), key: readFileSync(edge.tlsKeyFile!) }, onRequest) : createServer(onRequest);
  const wss = new WebSocketServer({
    server: http, path: '/ws', maxPayload: o.config.hardMaxFrameBytes,
    // One message event per tick instead of a whole TCP chunk at once: a burst from one socket
    // cannot hold the event loop while every other socket waits.
    allowSynchronousEvents: false,
    verifyClient: (info: { origin: string; req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const origin = info.req.headers.origin;
      if (isOriginAllowed(origin, info.req.headers.host, edge.allowedOrigins)) { done(true); return; }
      metrics.protocolErrors.add(1, { code: 'ORIGIN_FORBIDDEN' });
      o.log.warn({ origin: String(origin).slice(0, 200), ip: clientAddress(info.req, edge.trustForwardedFor), code: E.ORIGIN_FORBIDDEN.code }, 'socket.origin_forbidden');
      done(false, 403, `${E.ORIGIN_FORBIDDEN.code} ${E.ORIGIN_FORBIDDEN.name}`);
    },
  });
  wss.on('connection', (ws, req) => {
    if (closing) { ws.close(1001, `${E.HOST_SHUTTING_DOWN.code} ${E.HOST_SHUTTING_DOWN.name}`); return; }
    const session = new SocketSession(ws, {
      host: o.host, config: o.config, log: o.log, metrics, tracer, connId: nextConn++,
      edge: o.edge.guard, remoteAddress: clientAddress(req, edge.trustForwardedFor),
    });
    sessions.add(session);
    ws.on('close', () => sessions.delete(session));
  });
  // One keepalive timer for every socket, and one ping frame per tick: an idle socket costs its
  // write and its pong, not a timer and a JSON serialisation of its own.
  const keepalive = setInterval(() => {
    const now = Date.now();
    const frame = JSON.stringify({ ping: now });
    for (const s of sessions) s.keepalive(now, frame);
  }, o.config.pingIntervalMs);
  keepalive.unref();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.bindAddress ?? '127.0.0.1', () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  o.log.info({ port }, 'proxy.listening');
  const baseUrl = `${tls ? 'https' : 'http'}://${o.bindAddress && o.bindAddress !== '0.0.0.0' ? o.bindAddress : '127.0.0.1'}:${port}`;
  return {
    port,
    url: baseUrl,
    pageUrl: `${baseUrl}/`,
    wsUrl: `${baseUrl.replace(/^http/, 'ws')}/ws`,
    sessions: () => sessions.size,
    async close() {
      closing = true;
      clearInterval(keepalive);
      for (const s of sessions) s.close(E.HOST_SHUTTING_DOWN, 1001);
      await new Promise<void>((r) => wss.close(() => r()));
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** The client's address: the socket peer, or the first X-Forwarded-For entry behind a trusted balancer. */
export function clientAddress(req: IncomingMessage, trustForwardedFor: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (trustForwardedFor && first) return first.slice(0, 64);
  return req.socket.remoteAddress ?? 'unknown';
}

/** Process memory for /healthz (tests watch it return to baseline after abuse). */
function memoryFacts(gcRequested: boolean): Record<string, number | boolean> {
  // `global.gc` exists only when the operator started node with --expose-gc (tests do); then ?gc=1 runs it first.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gcRequested && gc) gc();
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, gcRan: gcRequested && gc !== undefined };
}

async function serveHttp(req: IncomingMessage, res: ServerResponse, o: ProxyServerOptions, metrics: AdamaMetrics, state: () => { sessions: number; closing: boolean }): Promise<void> {
  const [path, query] = (req.url ?? '/').split('?') as [string, string | undefined];
  if (path.startsWith(HTTP_API_PREFIX)) {
    await serveHttpApi(req, res, path, {
      host: o.host, guard: o.edge.guard, config: o.config, remoteAddress: clientAddress(req, o.edge.config.trustForwardedFor),
      onResult: (result) => metrics.sends.add(1, { result }),
    });
    return;
  }
  if (path === '/healthz') {
    const s = state();
    res.writeHead(s.closing ? 503 : 200, { 'content-type': 'application/json' });
    const memory = memoryFacts(new URLSearchParams(query ?? '').get('gc') === '1');
    res.end(JSON.stringify({ status: s.closing ? 'shutting_down' : 'ok', sessions: s.sessions, rateLimiterDegraded: o.edge.degraded(), memory, ...o.health?.() }));
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
