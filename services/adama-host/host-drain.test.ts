import { E, isAdamaError } from '../shared/errors';
import { HostDrain, type DrainSteps } from './host-drain';

/** Steps that record what the drain did, over an in-memory count of owned rows. */
function recorder(o: { owned: number; loaded: number; unload?: () => Promise<void> }) {
  const calls: string[] = [];
  const state = { owned: o.owned, loaded: o.loaded, accepting: true, serving: true, member: true };
  const steps: DrainSteps = {
    setServing: (serving) => { state.serving = serving; calls.push(serving ? 'SERVING' : 'NOT_SERVING'); },
    leaveMembership: async () => { state.member = false; calls.push('leave'); },
    rejoinMembership: async () => { state.member = true; calls.push('rejoin'); },
    unloadAll: async () => { state.accepting = false; await o.unload?.(); state.owned -= state.loaded; state.loaded = 0; calls.push('unload'); },
    resumeAccepting: () => { state.accepting = true; calls.push('resume'); },
    releaseOrphans: async () => { const n = state.owned; state.owned = 0; calls.push(`orphans:${n}`); return n; },
    countOwned: async () => state.owned,
  };
  return { calls, state, steps };
}

describe('HostDrain', () => {
  it('leaves membership before unloading, releases the rows of a crashed incarnation, and reports zero', async () => {
    const r = recorder({ owned: 5, loaded: 3 });
    const drain = new HostDrain(r.steps);
    expect(await drain.drain(10_000)).toEqual({ documents_remaining: 0, drained: true });
    expect(r.calls).toEqual(['NOT_SERVING', 'leave', 'unload', 'orphans:2']);
    expect(drain.state).toBe('drained');
  });

  it('a second drain joins the first instead of running again', async () => {
    const r = recorder({ owned: 1, loaded: 1 });
    const drain = new HostDrain(r.steps);
    const [a, b] = await Promise.all([drain.drain(10_000), drain.drain(10_000)]);
    expect(a).toEqual(b);
    expect(r.calls.filter((c) => c === 'unload')).toHaveLength(1);
  });

  it('cancel waits for the unloads, then takes documents again, answers SERVING and rejoins', async () => {
    let finishUnload!: () => void;
    let unloadStarted!: () => void;
    const started = new Promise<void>((res) => { unloadStarted = res; });
    let unloads = 0;
    // The first unload waits for the test; a later drain's unload finishes at once.
    const r = recorder({ owned: 2, loaded: 2, unload: () => (unloads++ > 0 ? Promise.resolve() : new Promise<void>((res) => { finishUnload = res; unloadStarted(); })) });
    const drain = new HostDrain(r.steps);
    const draining = drain.drain(10_000);
    const cancelled = drain.cancel();
    await started;
    expect(r.state).toMatchObject({ serving: false, member: false, accepting: false });
    finishUnload();
    expect(await cancelled).toEqual({ resumed: true });
    await draining;
    expect(r.calls.slice(-3)).toEqual(['resume', 'rejoin', 'SERVING']);
    expect(r.state).toMatchObject({ accepting: true, serving: true, member: true });
    expect(drain.draining).toBe(false);
    // And it can drain again.
    r.state.owned = 1; r.state.loaded = 1;
    expect(await drain.drain(10_000)).toEqual({ documents_remaining: 0, drained: true });
  });

  it('cancel on a serving host is a no-op', async () => {
    const r = recorder({ owned: 0, loaded: 0 });
    expect(await new HostDrain(r.steps).cancel()).toEqual({ resumed: false });
    expect(r.calls).toEqual([]);
  });

  it('after close nothing resumes: cancel is refused with HOST_SHUTTING_DOWN', async () => {
    const r = recorder({ owned: 1, loaded: 1 });
    const drain = new HostDrain(r.steps);
    await drain.close(10_000);
    const err = await drain.cancel().catch((e: unknown) => e);
    expect(isAdamaError(err, E.HOST_SHUTTING_DOWN)).toBe(true);
    expect(r.calls).not.toContain('resume');
  });

  it('answers with what remains when the drain outlasts its timeout, and leaves no timer behind', async () => {
    jest.useFakeTimers();
    try {
      const r = recorder({ owned: 4, loaded: 4, unload: () => new Promise<void>(() => undefined) });
      const reply = new HostDrain(r.steps).drain(1_000);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(await reply).toEqual({ documents_remaining: 4, drained: false });
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
