// The shipped MIB loads in Debian's snmptranslate without a single message, and every
// object the agent serves (healthcheck/snmp/oids.ts) has the same name, OID, syntax and
// enumeration in the MIB file.

import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEALTH_CHANGE_NOTIFICATION, NOTIFICATION_OBJECTS, SCALARS, TABLES } from '../../healthcheck/snmp/oids.js';
import { DEFAULT_BASE_OID } from '../../healthcheck/config.js';
import { HEALTH_STATES } from '../../healthcheck/state.js';
import { MIB_DIR, requireTool, run } from './helpers.js';

const T = (...a: string[]) => run('snmptranslate', ['-M', `+${MIB_DIR}`, '-m', 'ANYCAST-KIT-MIB', ...a]);

describe('ANYCAST-KIT-MIB', () => {
  beforeAll(() => requireTool('snmptranslate', 'snmp'));

  it('loads without errors or warnings (Debian snmp package only)', async () => {
    const r = await T('-Pw', '-Tp', 'ANYCAST-KIT-MIB::anycastKitMIB');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/anycastKitMIB\(53\)/);
  });

  it('is rooted at the documented placeholder enterprise base OID', async () => {
    const r = await T('-On', 'ANYCAST-KIT-MIB::anycastKitMIB');
    expect(r.stdout.trim()).toBe(`.${DEFAULT_BASE_OID}`);
    expect(readFileSync(join(MIB_DIR, 'ANYCAST-KIT-MIB.mib'), 'utf8')).toMatch(/RFC 5612/);
  });

  it('names every scalar the agent serves at the same OID with the same syntax', async () => {
    const names = SCALARS.map((s) => `ANYCAST-KIT-MIB::${s.name}`);
    const r = await T('-On', ...names);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').filter(Boolean)).toEqual(SCALARS.map((s) => `.${DEFAULT_BASE_OID}.${s.suffix}`));
    for (const s of SCALARS) {
      const d = await T('-Td', `ANYCAST-KIT-MIB::${s.name}`);
      const syntax = /SYNTAX\s+([^\n]+)/.exec(d.stdout)?.[1] ?? '';
      const want = { Counter64: /^Counter64/, Gauge32: /^Gauge32/, Integer: /^INTEGER/, OctetString: /^OCTET STRING/ }[s.kind];
      expect(syntax, s.name).toMatch(want);
      expect(d.stdout, s.name).toMatch(/MAX-ACCESS\s+read-only/);
      if (s.enumeration) {
        const enums = Object.entries(s.enumeration).map(([n, v]) => `${v}(${n})`).join(', ');
        expect(syntax, s.name).toContain(`{${enums}}`);
      }
    }
  });

  it('puts every scalar the agent serves in a conformance group (the fastudp reply-loss counter and the zone-queue counters included)', async () => {
    // snmptranslate -Td does not print a group's OBJECTS clause: read it from the file.
    const text = readFileSync(join(MIB_DIR, 'ANYCAST-KIT-MIB.mib'), 'utf8');
    const members = new Set<string>();
    for (const g of ['akObjectsGroup', 'akOpsGroup']) {
      const objs = new RegExp(`^${g} OBJECT-GROUP\\s+OBJECTS\\s*\\{([^}]*)\\}`, 'm').exec(text)?.[1];
      expect(objs, g).toBeDefined();
      for (const o of objs!.split(',')) members.add(o.trim());
    }
    expect(SCALARS.map((s) => s.name).filter((n) => !members.has(n))).toEqual([]);
    const oid = async (name: string) => (await T('-On', `ANYCAST-KIT-MIB::${name}`)).stdout.trim();
    expect(await oid('akQueriesUdpRepliesUnsent')).toBe(`.${DEFAULT_BASE_OID}.1.3.7`);
    for (const [i, name] of ['akDefenceZoneQueued', 'akDefenceZoneQueueFull', 'akDefenceZoneQueueExpired', 'akDefenceZoneQueueWaiting'].entries()) {
      expect(SCALARS.map((s) => s.name)).toContain(name);
      expect(await oid(name)).toMatch(new RegExp(`^\\.${DEFAULT_BASE_OID.replace(/\./g, '\\.')}\\.1\\.9\\.${16 + i}$`));
    }
  });

  it('matches the state machine enumeration', () => {
    const e = SCALARS.find((s) => s.name === 'akHealthState')!.enumeration!;
    expect(HEALTH_STATES.map((s, i) => e[i + 1] === s)).toEqual(HEALTH_STATES.map(() => true));
  });

  it('names both tables with the columns the agent fills', async () => {
    for (const t of TABLES) {
      const entry = `.${DEFAULT_BASE_OID}.${t.entrySuffix}`;
      const r = await T('-On', `ANYCAST-KIT-MIB::${t.indexName}`, `ANYCAST-KIT-MIB::${t.nameColumn}`, `ANYCAST-KIT-MIB::${t.valueColumn}`);
      expect(r.stdout.trim().split('\n').filter(Boolean)).toEqual([`${entry}.1`, `${entry}.2`, `${entry}.3`]);
      const idx = await T('-Td', `ANYCAST-KIT-MIB::${t.indexName}`);
      expect(idx.stdout).toContain(`(1..${t.rows.length})`);
    }
  });

  it('defines the health-change notification with the objects the trap carries', async () => {
    const r = await T('-On', `ANYCAST-KIT-MIB::${HEALTH_CHANGE_NOTIFICATION.name}`);
    expect(r.stdout.trim()).toBe(`.${DEFAULT_BASE_OID}.${HEALTH_CHANGE_NOTIFICATION.suffix}`);
    const d = await T('-Td', `ANYCAST-KIT-MIB::${HEALTH_CHANGE_NOTIFICATION.name}`);
    expect(d.stdout.replace(/\s+/g, ' ')).toContain(`OBJECTS { ${NOTIFICATION_OBJECTS.join(', ')} }`);
  });
});
