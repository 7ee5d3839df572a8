// anycast-kit loadtest <sub>: dispatches to one file per subcommand.
// run/capacity drive real traffic (loadtest/driver); cef/failover/plan are pure model (loadtest/model).

type Sub = { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> };

const SUBS: Record<string, Sub> = {
  run: { summary: 'send DNS load at a server and measure rate, loss and latency', load: () => import('./loadtest-run.js') },
  capacity: { summary: "step the offered rate to find a node's capacity (like resperf)", load: () => import('./loadtest-capacity.js') },
  cef: { summary: 'model how CEF spreads clients across equal-cost endpoints', load: () => import('./loadtest-cef.js') },
  failover: { summary: 'simulate site and node failures and the cascade that follows', load: () => import('./loadtest-failover.js') },
  plan: { summary: 'write the capacity-planning report (HTML with inline SVG, Markdown)', load: () => import('./loadtest-plan.js') },
};

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const sub = name ? SUBS[name] : undefined;
  if (!sub) {
    const lines = ['usage: anycast-kit loadtest <run|capacity|cef|failover|plan> [flags]', ''];
    for (const [n, s] of Object.entries(SUBS)) lines.push(`  ${n.padEnd(9)} ${s.summary}`);
    const help = name === '--help' || name === '-h';
    (help ? process.stdout : process.stderr).write(lines.join('\n') + '\n');
    return help ? 0 : 2;
  }
  return (await sub.load()).run(rest);
}
