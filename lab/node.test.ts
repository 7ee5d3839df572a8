import { describe, expect, it } from 'vitest';
import type { Lab } from './index.js';
import { labResolverConfig } from './node.js';

// Only the fields labResolverConfig reads.
const lab = (trustAnchorFile?: string) => ({ rootHintsFile: '/tmp/lab/named.root', upstreamPort: 5300, trustAnchorFile }) as unknown as Lab;

describe('the lab node\'s resolver settings', () => {
  it('a signed lab: validation on, from the lab root\'s anchor only', () => {
    const cfg = labResolverConfig(lab('/tmp/lab/root.key'), [{ host: '127.0.0.1', port: 5353 }], 'lab-node');
    expect(cfg.validator).toMatchObject({ enabled: true, trustAnchorFiles: ['/tmp/lab/root.key'], trustAnchors: [] });
    expect(cfg.rootHintsFile).toBe('/tmp/lab/named.root');
  });

  it('an unsigned lab (dnssec: false): validation off, as the built-in root anchors would make it all bogus', () => {
    const cfg = labResolverConfig(lab(undefined), [{ host: '127.0.0.1', port: 5353 }], 'lab-node');
    expect(cfg.validator?.enabled).toBe(false);
  });
});
