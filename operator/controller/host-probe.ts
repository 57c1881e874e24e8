/**
 * @module host-probe
 * How the operator asks a host pod what it holds and tells it to drain: an interface (so tests of
 * the reconciler could swap it) and the gRPC implementation on the host's admin RPCs. A probe
 * never throws: a host that does not answer is reported as unknown, which the drain machine
 * treats as "look again", never as "empty".
 */
import { hostAdminClient, type HostAdminClient } from '../../services/grpc/host-admin-client';
import { INSECURE_INTERNAL, type InternalTls } from '../../services/grpc/internal-tls';

export interface HostReport {
  draining: boolean;
  documentsLoaded: number;
  /** `directory` rows naming the host; undefined when the host could not count them. */
  documentsOwned?: number;
}

/**
 * Every call says whether the host's cluster runs mTLS (spec.internalTls): one operator may watch
 * clusters of both kinds, so it presents its certificate to the ones that require it and talks
 * plaintext to the ones that run `--insecure-internal`.
 */
export interface HostProbe {
  status(address: string, secure: boolean): Promise<HostReport | undefined>;
  /** Asks the host to drain; resolves once it accepted (the drain goes on in the background). */
  drain(address: string, secure: boolean): Promise<void>;
  /** Asks a draining host to serve again; resolves with whether it was draining. Throws when it cannot be asked. */
  cancelDrain(address: string, secure: boolean): Promise<boolean>;
  close(): void;
}

const MAX_CLIENTS = 256;

export class GrpcHostProbe implements HostProbe {
  private readonly clients = new Map<string, HostAdminClient>();

  /** `tls`: the operator's certificate when hosts require mTLS (services/grpc/internal-tls.ts). */
  constructor(private readonly deadlineMs = 2_000, private readonly tls?: InternalTls) {}

  async status(address: string, secure: boolean): Promise<HostReport | undefined> {
    try {
      const r = await this.client(address, secure).status(this.deadlineMs);
      return {
        draining: r.draining, documentsLoaded: r.documents_loaded,
        ...(r.documents_owned_known ? { documentsOwned: r.documents_owned } : {}),
      };
    } catch {
      return undefined;
    }
  }

  async drain(address: string, secure: boolean): Promise<void> {
    // timeout 0: start the drain and answer at once; the reconciler polls Status for progress.
    await this.client(address, secure).drain(0, this.deadlineMs);
  }

  async cancelDrain(address: string, secure: boolean): Promise<boolean> {
    return (await this.client(address, secure).cancelDrain(this.deadlineMs)).resumed;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** A secure cluster's host gets the operator's certificate (when it has one: without, the handshake fails and says so). */
  private client(address: string, secure: boolean): HostAdminClient {
    const tls = secure && this.tls !== undefined ? this.tls : INSECURE_INTERNAL;
    const key = `${tls.mode}|${address}`;
    let c = this.clients.get(key);
    if (!c) {
      // Pod IPs change with every pod; bound the cache, closing the oldest channel first.
      if (this.clients.size >= MAX_CLIENTS) {
        const [oldest, client] = this.clients.entries().next().value!;
        client.close();
        this.clients.delete(oldest);
      }
      c = hostAdminClient(address, tls);
      this.clients.set(key, c);
    }
    return c;
  }
}
