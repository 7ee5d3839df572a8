// The README's examples are real output: this test fails when they drift from the code.
// UPDATE_GOLDEN=1 rewrites them in place.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allSwitches } from './inventory.js';
import { planChanges } from './plan.js';
import { renderSwitchLines } from './render.js';
import { hostSnippet, renderHostSnippet } from './host.js';
import { EXAMPLE, exampleNext, inv } from './testdata/fixture.js';

const README = new URL('./README.md', import.meta.url);

function blocks(): Record<string, string> {
  const i = inv(EXAMPLE, 'inventory.yaml');
  const output = allSwitches(i)
    .map((sw) => `! ==== ${sw.name} ====\n${renderSwitchLines(i, sw, { source: 'inventory.yaml' }).join('\n')}\n`)
    .join('');
  const p = planChanges(i, inv(exampleNext(), 'inventory-v2.yaml'), { oldLabel: 'inventory.yaml', newLabel: 'inventory-v2.yaml' }).find((x) => x.name === 'dc1-sw1')!;
  return {
    'example-inventory': '```yaml\n' + EXAMPLE + '```',
    'example-output': '```\n' + output + '```',
    'example-plan': '```\n' + `! ==== ${p.name} ====\n${p.plan.join('\n')}\n!\n! ==== ${p.name} rollback ====\n${p.rollback.join('\n')}\n` + '```',
    'example-host': '```\n' + renderHostSnippet(hostSnippet(i, 'dc1-dns01')) + '```',
  };
}

describe('README', () => {
  it('shows the example inventory and its real output', () => {
    let text = readFileSync(README, 'utf8');
    for (const [name, body] of Object.entries(blocks())) {
      const re = new RegExp(`(<!-- BEGIN ${name} -->\\n)[\\s\\S]*?(\\n<!-- END ${name} -->)`);
      expect(re.test(text), `markers for ${name}`).toBe(true);
      if (process.env.UPDATE_GOLDEN === '1') text = text.replace(re, (_m, a: string, b: string) => a + body + b);
      expect(re.exec(text)![0]).toBe(`<!-- BEGIN ${name} -->\n${body}\n<!-- END ${name} -->`);
    }
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(README, text);
  });
});
