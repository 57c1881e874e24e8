/**
 * @module pod-netns-preload
 * Loaded with `--require` into every process of a pod the process kubelet runs: a user-space
 * stand-in for the pod's network namespace and its resolv.conf, so the product runs unchanged.
 *
 * - Binding to the any address (0.0.0.0, ::, or no host) or to loopback binds the pod's IP: in a
 *   pod, every container shares one network namespace, and here that namespace is one loopback IP.
 * - Connecting to loopback (127.0.0.1, ::1, localhost) reaches the pod's own IP when a process of
 *   this pod listens on that port (the ports directory says so), as a pod's own 127.0.0.1 would;
 *   other loopback ports are the node's (the test's database and API server live there).
 * - Names are resolved through the cluster DNS (Services and per-pod hostnames, with the pod's
 *   search path); names outside the cluster go to the real resolver.
 * - `os.hostname()` is the pod's hostname.
 * Nothing else of Node is touched. Only TCP is modelled (no UDP, no IPv6 pod addresses).
 */
// `import x = require()`: the modules themselves, not esModuleInterop's read-only copies, since
// lookup and hostname are replaced on them.
import dns = require('node:dns');
import fs = require('node:fs');
import http = require('node:http');
import net = require('node:net');
import os = require('node:os');
import { join } from 'node:path';
import { NETNS_ENV, type DnsAnswer } from './netns-env';

const podIP = process.env[NETNS_ENV.podIP];
const portsDir = process.env[NETNS_ENV.portsDir];
const dnsUrl = process.env[NETNS_ENV.dnsUrl];
const namespace = process.env[NETNS_ENV.namespace] ?? 'default';
const hostname = process.env[NETNS_ENV.hostname];

const ANY = new Set(['', '0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1', 'localhost.']);

type Callback = (...args: unknown[]) => void;

/** Someone in this pod listens on `port` (any of the pod's processes, this one included). */
const podListens = (port: number): boolean => portsDir !== undefined && fs.existsSync(join(portsDir, String(port)));

function bindHost(host: unknown): unknown {
  if (host === undefined || host === null || (typeof host === 'string' && (ANY.has(host) || LOOPBACK.has(host)))) return podIP;
  return host;
}

function connectHost(host: unknown, port: unknown): unknown {
  const h = host === undefined || host === null || host === '' ? 'localhost' : host;
  if (typeof h === 'string' && (LOOPBACK.has(h) || ANY.has(h)) && podListens(Number(port))) return podIP;
  return host;
}

function installListen(ip: string, dir: string): void {
  const listen = net.Server.prototype.listen as (...args: unknown[]) => net.Server;
  net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]): net.Server {
    const first = args[0];
    let rewritten = args;
    if (typeof first === 'object' && first !== null && !('_handle' in first) && !('fd' in first)) {
      const o = first as { path?: string; host?: string; port?: number };
      if (o.path === undefined) rewritten = [{ ...o, host: bindHost(o.host) }, ...args.slice(1)];
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      rewritten = typeof args[1] === 'string' ? [first, bindHost(args[1]), ...args.slice(2)] : [first, ip, ...args.slice(1)];
    } else if (first === undefined || typeof first === 'function') {
      rewritten = [0, ip, ...args];
    }
    this.once('listening', () => {
      const a = this.address();
      if (a === null || typeof a === 'string') return;
      const file = join(dir, String(a.port));
      fs.writeFileSync(file, String(process.pid));
      this.once('close', () => fs.rmSync(file, { force: true }));
    });
    return listen.apply(this, rewritten);
  };
}

function installConnect(): void {
  const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect() passes its normalized [options, callback] as one array argument.
    const [opts, cb] = Array.isArray(args[0]) ? (args[0] as [unknown, unknown])
      : typeof args[0] === 'object' && args[0] !== null ? [args[0], args[1]]
      : typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))
        ? [{ port: args[0], ...(typeof args[1] === 'string' ? { host: args[1] } : {}) }, args.find((a) => typeof a === 'function')]
        : [undefined, undefined];
    if (typeof opts !== 'object' || opts === null || 'path' in (opts as object)) return connect.apply(this, args);
    const o = opts as { host?: string; port?: number };
    const host = connectHost(o.host, o.port);
    if (host === o.host) return connect.apply(this, args);
    return typeof cb === 'function' ? connect.call(this, { ...o, host }, cb) : connect.call(this, { ...o, host });
  };
}

function notFound(name: string, reason: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${name} (${reason})`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: name });
}

/** One question to the cluster DNS (plain HTTP on the node's loopback, so never through the pod's own). */
function askCluster(url: string, name: string): Promise<DnsAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL('/resolve', url);
    u.searchParams.set('name', name);
    u.searchParams.set('ns', namespace);
    u.searchParams.set('from', podIP ?? '');
    const req = http.get(u, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body) as DnsAnswer); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
  });
}

interface LookupOptions { family?: number | string; all?: boolean; hints?: number; verbatim?: boolean; order?: string }

function installDns(url: string): void {
  const realLookup = dns.lookup.bind(dns) as (name: string, options: LookupOptions, cb: Callback) => void;
  const lookup = (name: string, options: unknown, callback?: unknown): void => {
    const cb = (typeof options === 'function' ? options : callback) as Callback;
    const opts: LookupOptions = typeof options === 'number' ? { family: options } : typeof options === 'object' && options !== null ? options as LookupOptions : {};
    if (!name || net.isIP(name) !== 0 || LOOPBACK.has(name) || name.endsWith('.localhost')) { realLookup(name, opts, cb); return; }
    askCluster(url, name).then((answer) => {
      if (answer.kind === 'external') { realLookup(answer.name, opts, cb); return; }
      // Pod addresses are IPv4 only.
      const family = opts.family === 6 || opts.family === 'IPv6' ? 6 : 4;
      if (answer.kind === 'notfound' || answer.addresses.length === 0 || family === 6) {
        cb(notFound(name, answer.kind === 'notfound' ? answer.reason : 'no IPv4 address'));
        return;
      }
      if (opts.all) cb(null, answer.addresses.map((address) => ({ address, family: 4 })));
      else cb(null, answer.addresses[0], 4);
    }, (err: unknown) => cb(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${name}: cluster DNS unreachable (${String(err)})`), { code: 'EAI_AGAIN', syscall: 'getaddrinfo', hostname: name })));
  };
  (dns as { lookup: unknown }).lookup = lookup;
  (dns.promises as { lookup: unknown }).lookup = (name: string, options?: unknown) => new Promise((resolve, reject) => {
    lookup(name, options ?? {}, (err: unknown, address: unknown, family: unknown) => {
      if (err) reject(err);
      else resolve(Array.isArray(address) ? address : { address, family });
    });
  });
}

if (podIP !== undefined && portsDir !== undefined) {
  installListen(podIP, portsDir);
  installConnect();
  if (dnsUrl !== undefined) installDns(dnsUrl);
  if (hostname !== undefined) (os as { hostname: () => string }).hostname = () => hostname;
}
