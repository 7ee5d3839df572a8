// One interop fixture per test file: the NSD lab on PREFIX.0/24, unbound and our
// resolver side by side, with the same root hints. Both resolvers are required;
// INTEROP_TARGETS=unbound runs the suite against unbound alone, which is only for
// checking the harness itself (it is never set in CI).

import { startAuthLab, startOurs, startUnbound, type AuthLab, type Running } from '../../../bench/harness/daemons.js';
import { HOST } from '../../../bench/harness/zones.js';
import type { Target } from './compare.js';

export interface PairOptions {
  /** CIDRs allowed recursion on both resolvers (default 127.0.0.0/8). */
  allow?: string[];
  identity?: { unbound: string; ours: string };
  /** Extra unbound `server:` lines. */
  unboundExtra?: string[];
  oursArgs?: string[];
}

export interface Pair {
  auth: AuthLab;
  addr(host: number): string;
  /** Address test clients bind to (inside every allow list used here). */
  client: string;
  unbound: Running;
  ours?: Running;
  targets: Target[];
  stop(): Promise<void>;
}

export function oursRequired(): boolean {
  return (process.env.INTEROP_TARGETS ?? 'unbound,ours').split(',').includes('ours');
}

export async function startPair(prefix: string, o: PairOptions = {}): Promise<Pair> {
  const auth = await startAuthLab(prefix);
  const addr = (h: number) => `${prefix}.${h}`;
  const started: Running[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await auth.stop();
  };
  try {
    const allow = o.allow ?? ['127.0.0.0/8'];
    // unbound allows 127.0.0.0/8 by default: refuse it first so the allow list is the whole policy.
    const access: Array<[string, 'allow' | 'refuse']> = allow.includes('127.0.0.0/8') ? [] : [['127.0.0.0/8', 'refuse']];
    for (const c of allow) access.push([c, 'allow']);
    const unbound = await startUnbound({
      address: addr(HOST.unbound), rootHintsFile: auth.rootHintsFile, access,
      identity: o.identity?.unbound ?? 'interop-unbound', extra: o.unboundExtra, label: prefix,
    });
    started.push(unbound);
    let ours: Running | undefined;
    if (oursRequired()) {
      ours = await startOurs({
        address: addr(HOST.ours), rootHintsFile: auth.rootHintsFile, allow,
        identity: o.identity?.ours ?? 'interop-ours', extraArgs: o.oursArgs,
        // The lab zones are unsigned and unbound beside it does not validate.
        validate: false,
      });
      started.push(ours);
    }
    const targets: Target[] = [{ name: 'unbound', address: unbound.address, port: unbound.port }];
    if (ours) targets.push({ name: 'ours', address: ours.address, port: ours.port });
    return { auth, addr, client: addr(HOST.client), unbound, ours, targets, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
