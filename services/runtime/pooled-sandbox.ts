/**
 * @module pooled-sandbox
 * Several isolates for one space, used as one `SpaceSandbox`. An isolate runs one call at a time,
 * so with a single isolate every document of a popular space waits in one queue (the benchmark
 * measured the counter isolate busy 69% of the wall time while storage idled). Sandboxes are
 * stateless, so any isolate can serve any stateless call: each goes to the isolate with the
 * fewest calls in flight. A resident document is pinned to one isolate for its whole life in
 * memory (its state lives there): `open` picks the isolate holding the fewest documents.
 */
import type { Json } from '../shared/json';
import type { Who } from '../shared/identity';
import type { CallContext, ResidentDocument, SandboxFactory, SpaceSandbox, Viewer } from './space-sandbox';

export function pooledSandboxFactory(inner: SandboxFactory, size: number): SandboxFactory {
  if (size <= 1) return inner;
  return async (space, code, limits) => {
    const members = await Promise.allSettled(Array.from({ length: size }, () => inner(space, code, limits)));
    const ok = members.flatMap((m) => (m.status === 'fulfilled' ? [m.value] : []));
    const failed = members.find((m): m is PromiseRejectedResult => m.status === 'rejected');
    if (failed) {
      for (const s of ok) s.dispose();
      throw failed.reason;
    }
    return new PooledSandbox(ok);
  };
}

class PooledSandbox implements SpaceSandbox {
  readonly space: string;
  readonly channels: readonly string[];
  readonly invent: boolean;
  readonly httpChannels: readonly string[];
  private readonly inFlight: number[];

  constructor(private readonly members: SpaceSandbox[]) {
    this.space = members[0]!.space;
    this.channels = members[0]!.channels;
    this.invent = members[0]!.invent;
    this.httpChannels = members[0]!.httpChannels;
    this.inFlight = members.map(() => 0);
    this.resident = members.map(() => 0);
  }

  private readonly resident: number[];

  async open(id: string, encoded: Json, seq: number): Promise<ResidentDocument> {
    let best = 0;
    for (let i = 1; i < this.resident.length; i++) if (this.resident[i]! < this.resident[best]!) best = i;
    const doc = await this.members[best]!.open(id, encoded, seq);
    this.resident[best]!++;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.resident[best]!--;
      doc.close();
    };
    return {
      get lost() { return doc.lost; },
      step: (r) => doc.step(r),
      rollback: () => doc.rollback(),
      replay: (r) => doc.replay(r),
      publish: (r) => doc.publish(r),
      state: (committed) => doc.state(committed),
      canDelete: (who, committed) => doc.canDelete(who, committed),
      close,
    };
  }

  init(arg: Json, ctx: CallContext) { return this.run((s) => s.init(arg, ctx)); }
  connect(state: Json, who: Who, ctx: CallContext) { return this.run((s) => s.connect(state, who, ctx)); }
  disconnect(state: Json, who: Who, ctx: CallContext) { return this.run((s) => s.disconnect(state, who, ctx)); }
  send(state: Json, channel: string, message: Json, who: Who, ctx: CallContext) { return this.run((s) => s.send(state, channel, message, who, ctx)); }
  views(state: Json, viewers: readonly Viewer[]) { return this.run((s) => s.views(state, viewers)); }
  canList(who: Who) { return this.run((s) => s.canList(who)); }
  dispose(): void { for (const s of this.members) s.dispose(); }

  private async run<T>(call: (s: SpaceSandbox) => Promise<T>): Promise<T> {
    let best = 0;
    for (let i = 1; i < this.inFlight.length; i++) if (this.inFlight[i]! < this.inFlight[best]!) best = i;
    this.inFlight[best]!++;
    try {
      return await call(this.members[best]!);
    } finally {
      this.inFlight[best]!--;
    }
  }
}
