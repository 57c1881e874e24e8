/**
 * @module membership.contract
 * The behaviour every `Membership` must have, as one suite each source runs against itself
 * (`lease-membership.test.ts` for the static and lease sources; gossip next). The router relies
 * on exactly this: sorted lists, notifications only for real changes, and silence after close.
 */
import type { Membership } from './membership';
import type { RoutingHost } from './rendezvous';

export interface MembershipFixture {
  /** Starts with hosts `a` and `b` (addresses `<id>:9000`, weight 1) already current. */
  membership: Membership;
  /** Makes the source report `hosts` and waits until the membership has taken them in. */
  report(hosts: readonly RoutingHost[]): Promise<void>;
}

const host = (id: string, weight = 1): RoutingHost => ({ id, address: `${id}:9000`, weight });
const ids = (hosts: readonly RoutingHost[]): string[] => hosts.map((h) => h.id);

export function runMembershipContract(name: string, factory: () => Promise<MembershipFixture>): void {
  describe(`Membership contract: ${name}`, () => {
    let fx: MembershipFixture;
    beforeEach(async () => { fx = await factory(); });
    afterEach(async () => { await fx.membership.close(); });

    it('starts with the hosts reported first', () => {
      expect(fx.membership.current()).toEqual([host('a'), host('b')]);
    });

    it('lists hosts sorted by id whatever order the source reports them in', async () => {
      await fx.report([host('c'), host('a'), host('b')]);
      expect(ids(fx.membership.current())).toEqual(['a', 'b', 'c']);
    });

    it('notifies each listener once per change, with the new list', async () => {
      const seen: string[][] = [];
      fx.membership.onChange((hosts) => seen.push(ids(hosts)));
      await fx.report([host('a')]);
      await fx.report([host('a'), host('d')]);
      expect(seen).toEqual([['a'], ['a', 'd']]);
    });

    it('does not notify when the same hosts are reported again in another order', async () => {
      const listener = jest.fn();
      fx.membership.onChange(listener);
      await fx.report([host('b'), host('a')]);
      expect(listener).not.toHaveBeenCalled();
    });

    it('notifies when only a weight changes', async () => {
      const listener = jest.fn();
      fx.membership.onChange(listener);
      await fx.report([host('a', 2), host('b')]);
      expect(listener).toHaveBeenCalledTimes(1);
    });

    it('stops notifying a listener that unsubscribed', async () => {
      const listener = jest.fn();
      fx.membership.onChange(listener)();
      await fx.report([host('a')]);
      expect(listener).not.toHaveBeenCalled();
    });

    it('notifies no one after close, and closes twice without error', async () => {
      const listener = jest.fn();
      fx.membership.onChange(listener);
      await fx.membership.close();
      await fx.report([host('z')]);
      await fx.membership.close();
      expect(listener).not.toHaveBeenCalled();
    });
  });
}
