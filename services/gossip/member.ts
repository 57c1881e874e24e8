/**
 * @module member
 * A live member as the sidecar publishes it on `Watch`, and what the router takes from it.
 */
export type Role = 'host' | 'proxy';
export const ROLES: readonly Role[] = ['host', 'proxy'];

export interface WatchedMember {
  id: string;
  address: string;
  role: Role;
  weight: number;
  alive: boolean;
}

export function parseRole(s: string): Role {
  if (s === 'host' || s === 'proxy') return s;
  throw new RangeError(`role must be host or proxy, got ${s}`);
}
