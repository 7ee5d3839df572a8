// The three-site test topology (three-site.yaml) that the model, report and CLI tests
// share, and the variants they need, derived from it so the sites stay the same everywhere.
// Losing dc1 sends its 60000 qps to dc2 (3 x 20000) and cascades through dc3.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const THREE_SITE_FILE = fileURLToPath(new URL('./three-site.yaml', import.meta.url));
export const THREE_SITE = readFileSync(THREE_SITE_FILE, 'utf8');

export interface ThreeSiteChange {
  /** Replaces the inside of `model: { algorithm: even }`, e.g. 'algorithm: seed-xor'. */
  model?: string;
  /** Capacity of each dc2 node instead of 20000. */
  dc2Capacity?: number;
  /** Extra client entries appended to dc1's clients list, e.g. '{ cidr: 100.64.0.1/32, qps: 3000 }'. */
  dc1ExtraClients?: string;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`three-site.yaml no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** The fixture with the given changes; the same line numbers as three-site.yaml. */
export function threeSite(change: ThreeSiteChange = {}): string {
  let text = THREE_SITE;
  if (change.model !== undefined) text = replaceOnce(text, 'model: { algorithm: even }', `model: { ${change.model} }`);
  if (change.dc2Capacity !== undefined) {
    const dc2 = /(address: 10\.2\.0\.\d+, capacity: )20000 /g;
    if ((text.match(dc2) ?? []).length !== 3) throw new Error('three-site.yaml no longer has three 20000-qps dc2 nodes');
    text = text.replace(dc2, `$1${change.dc2Capacity} `);
  }
  if (change.dc1ExtraClients !== undefined) {
    const dc1 = '[ { cidr: 10.1.0.0/16, qps: 60000 } ]';
    text = replaceOnce(text, dc1, dc1.replace(' ]', `, ${change.dc1ExtraClients} ]`));
  }
  return text;
}
