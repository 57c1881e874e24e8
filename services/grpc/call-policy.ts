/**
 * @module call-policy
 * Who may call which internal method, by the role in the caller's certificate (internal-tls.ts).
 * One table for every service, so docs/security.md and the code say the same thing. A method not
 * listed is refused to everyone. The health service answers every role: the gossip sidecar probes
 * its host with it, and so do `adama` status commands.
 */
import { INTERNAL_ROLES, type InternalRole, type MethodPolicy } from './internal-tls';

const HEALTH = '/grpc.health.v1.Health/Check';
const EVERY_ROLE: readonly InternalRole[] = INTERNAL_ROLES;

/** A host's own certificate may act on that host only from its own machine (its preStop `host drain-self`). */
const SELF_HOST = { role: 'host', loopbackOnly: true } as const;

export const HOST_POLICY: MethodPolicy = {
  [HEALTH]: EVERY_ROLE,
  // Streams carry `who`: only a proxy, which authenticated the user, may open them.
  '/adama.host.v1.Host/Multiplex': ['proxy'],
  '/adama.host.v1.Host/Drain': ['operator', 'admin', SELF_HOST],
  '/adama.host.v1.Host/CancelDrain': ['operator', 'admin', SELF_HOST],
  '/adama.host.v1.Host/Status': ['operator', 'admin', SELF_HOST],
};

export const LOCATOR_POLICY: MethodPolicy = {
  [HEALTH]: EVERY_ROLE,
  // Binding moves and fences documents: hosts only.
  '/adama.locator.v1.Locator/FindBind': ['host'],
  '/adama.locator.v1.Locator/Release': ['host'],
  '/adama.locator.v1.Locator/Lookup': ['proxy', 'host', 'operator', 'admin'],
  '/adama.locator.v1.Locator/ListByHost': ['proxy', 'host', 'operator', 'admin'],
  '/adama.locator.v1.Locator/LiveHosts': ['proxy', 'host', 'operator', 'admin'],
};

export const ARCHIVER_POLICY: MethodPolicy = {
  [HEALTH]: EVERY_ROLE,
  '/adama.archiver.v1.Archiver/ArchiveNow': ['operator', 'admin'],
  '/adama.archiver.v1.Archiver/RestoreNow': ['operator', 'admin'],
  '/adama.archiver.v1.Archiver/Inspect': ['operator', 'admin'],
};

export const GOSSIP_POLICY: MethodPolicy = {
  [HEALTH]: EVERY_ROLE,
  // Membership is a sidecar conversation: a forged Push could declare hosts dead or alive.
  '/adama.gossip.v1.GossipPeer/Push': ['gossip'],
  // The local view is for the host or proxy in the same pod.
  '/adama.gossip.v1.GossipLocal/Watch': [{ role: 'host', loopbackOnly: true }, { role: 'proxy', loopbackOnly: true }],
};
