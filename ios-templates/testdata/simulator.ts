// A tiny model of a switch's running config, just rich enough to check change plans:
// pasting plan(OLD -> NEW) onto OLD must give NEW, and the rollback must give OLD back.
// It enforces the rules the plans exist for: a scheduled IP SLA operation cannot be edited
// or rescheduled, negating a line that is not there is an error, and each pasted threshold,
// timeout or frequency must keep threshold ≤ timeout ≤ frequency from the defaults on.

interface Node {
  text: string;
  children: Map<string, Node>;
  /** SLA operation values, from the defaults; each pasted value is checked against the others. */
  op?: { threshold: number; timeout: number; frequency: number };
}

const ENTERS = /^(ip sla \d+$|track \d+ |route-map |router |address-family |dns |http get |tcp-connect )/;
const SINGLE = ['maximum-paths ', 'set metric-type ', 'set metric ', 'set as-path prepend ', 'delay ', 'ip cef load-sharing algorithm ', 'ip load-sharing address '];

function singleKey(text: string): string | undefined {
  return SINGLE.find((k) => text.startsWith(k));
}

export class SimSwitch {
  readonly root: Node = { text: '', children: new Map() };
  private readonly scheduled = new Set<number>();
  constructor(private readonly indent: number) {}

  apply(lines: string[]): this {
    const stack: Node[] = [this.root];
    for (const raw of lines) {
      if (raw.startsWith('!')) continue;
      const text = raw.trimStart();
      const depth = (raw.length - text.length) / this.indent;
      if (text === 'exit-address-family') {
        stack.length = depth + 1;
        continue;
      }
      stack.length = depth + 1;
      const here = stack[depth];
      if (!here) throw new Error(`no open mode at depth ${depth}: ${raw}`);
      const entered = depth === 0 ? this.global(text) : this.inMode(here, text);
      if (entered) stack.push(entered);
    }
    return this;
  }

  private global(text: string): Node | undefined {
    const c = this.root.children;
    let m: RegExpExecArray | null;
    if ((m = /^no ip sla (\d+)$/.exec(text))) {
      const id = Number(m[1]);
      if (!c.delete(`ip sla ${id}`)) throw new Error(`${text}: no such operation`);
      for (const k of [...c.keys()]) if (k.startsWith(`ip sla schedule ${id} `)) c.delete(k);
      this.scheduled.delete(id);
      return undefined;
    }
    if ((m = /^no track (\d+)$/.exec(text))) {
      const key = [...c.keys()].find((k) => k.startsWith(`track ${m![1]} `));
      if (!key) throw new Error(`${text}: no such track`);
      c.delete(key);
      return undefined;
    }
    if (text.startsWith('no ')) {
      if (!c.delete(text.slice(3))) throw new Error(`${text}: line not present`);
      return undefined;
    }
    if ((m = /^ip sla (\d+)$/.exec(text)) && this.scheduled.has(Number(m[1]))) {
      throw new Error(`${text}: a scheduled operation cannot be edited`);
    }
    if ((m = /^ip sla schedule (\d+) /.exec(text))) {
      if (this.scheduled.has(Number(m[1]))) throw new Error(`${text}: already scheduled`);
      this.scheduled.add(Number(m[1]));
    }
    return this.add(this.root, text);
  }

  private inMode(here: Node, text: string): Node | undefined {
    const m = /^(threshold|timeout|frequency) (\d+)$/.exec(text);
    if (here.op && m) {
      const v = { ...here.op, [m[1]]: Number(m[2]) };
      if (!(v.threshold <= v.timeout && v.timeout <= v.frequency * 1000)) {
        throw new Error(`${here.text} / ${text}: refused, threshold ${v.threshold} ms, timeout ${v.timeout} ms, frequency ${v.frequency} s`);
      }
      here.op = v;
    }
    if (text.startsWith('no ')) {
      if (!here.children.delete(text.slice(3))) throw new Error(`${here.text} / ${text}: line not present`);
      return undefined;
    }
    return this.add(here, text);
  }

  private add(parent: Node, text: string): Node | undefined {
    const k = singleKey(text);
    if (k) for (const key of [...parent.children.keys()]) if (key.startsWith(k) && key !== text) parent.children.delete(key);
    let node = parent.children.get(text);
    if (!node) {
      node = { text, children: new Map() };
      if (/^(dns|http get|tcp-connect) /.test(text)) node.op = { threshold: 5000, timeout: 5000, frequency: 60 };
      parent.children.set(text, node);
    }
    return ENTERS.test(text) ? node : undefined;
  }

  /** Every line with its mode path, e.g. "router ospf 1 > maximum-paths 2", sorted. */
  flat(): string[] {
    const out: string[] = [];
    const walk = (n: Node, prefix: string) => {
      for (const c of n.children.values()) {
        const p = prefix ? `${prefix} > ${c.text}` : c.text;
        if (c.children.size) walk(c, p);
        else out.push(p);
      }
    };
    walk(this.root, '');
    return out.sort();
  }
}

/** Lines a plan may legitimately leave behind: features, hashing, emptied routing processes. */
export function isLeftover(line: string): boolean {
  return /^feature /.test(line) || /^ip (cef )?load-sharing /.test(line) || /^router \S+ \S+( > address-family ipv4( unicast)?)?$/.test(line);
}
