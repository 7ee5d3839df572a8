// The lab report: predicted beside measured, as Markdown and as one self-contained HTML
// file (no scripts, no fetches), plus the one-line JSON summary for automation.
import type { Inventory } from '../../ios-templates/inventory.js';
import type { CascadeResult, DrainResult, FailOpenResult, NodeLossResult, SharesResult } from './experiments.js';

export interface LabReport {
  inventory: string;
  inv: Inventory;
  startedAt: string;
  qps: number;
  elapsedS?: number;
  shares?: SharesResult;
  nodeLoss?: NodeLossResult;
  drain?: DrainResult;
  failOpen?: FailOpenResult;
  cascade?: CascadeResult;
}

/** The --json line: at least the keys the issue names, per experiment run. */
export function summary(r: LabReport): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: 'anycast-kit.lab.anycast', inventory: r.inventory, elapsedS: r.elapsedS };
  if (r.shares) out.shares = { maxErrorPct: r.shares.maxErrorPct, switch: r.shares.switch, queries: r.shares.queries, nodes: r.shares.nodes.map((n) => ({ name: n.name, predictedPct: n.predictedPct, measuredPct: n.measuredPct })) };
  if (r.nodeLoss) out.nodeLoss = { node: r.nodeLoss.node, lostQueries: r.nodeLoss.lostQueries, predictedLostRange: r.nodeLoss.predictedLostRange, sent: r.nodeLoss.sent, withdrawnAfterS: r.nodeLoss.withdrawnAfterS, predictedWindowS: r.nodeLoss.predictedWindowS, inWindow: r.nodeLoss.inWindow, othersTookLoad: r.nodeLoss.othersTookLoad };
  if (r.drain) out.drain = { node: r.drain.node, lostQueries: r.drain.lostQueries, sent: r.drain.sent, withdrawnAfterS: r.drain.withdrawnAfterS, predictedWindowS: r.drain.predictedWindowS, inWindow: r.drain.inWindow, refusedOnLenientSwitch: r.drain.refusedOnLenientSwitch ?? null };
  if (r.cascade) out.cascade = { predicted: r.cascade.predicted, measured: r.cascade.measured, detail: r.cascade.detail, capacityQps: r.cascade.capacityQps, runs: r.cascade.runs };
  if (r.failOpen) out.failOpen = { blackholedQueries: r.failOpen.blackholedQueries, withoutFailOpen: r.failOpen.withoutFailOpen, withFailOpen: r.failOpen.withFailOpen };
  return out;
}

function mdTable(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const verdict = (ok: boolean) => (ok ? 'yes' : '**NO**');

/** Sections as [title, intro, table head, rows, closing note]. */
function sections(r: LabReport): Array<{ title: string; intro: string; head: string[]; rows: Array<Array<string | number>>; note?: string }> {
  const out: ReturnType<typeof sections> = [];
  const p = r.inv.service.probe;
  const t = r.inv.service.track;
  if (r.shares) {
    const s = r.shares;
    out.push({
      title: 'Shares: how the switch spreads clients over its nodes',
      intro: `Switch ${s.switch}, ${s.sources} client sources, ${s.queries.toLocaleString('en-US')} queries. Predicted from the ${s.method}. Measured: DNS responses counted by each node (its /metrics), so SLA probes add a few per node. Goal: every node within 5 points.`,
      head: ['node', 'sources', 'predicted %', 'measured %', 'error (points)', 'within 5'],
      rows: s.nodes.map((n) => [n.name, n.sourcesMapped, n.predictedPct.toFixed(2), n.measuredPct.toFixed(2), Math.abs(n.predictedPct - n.measuredPct).toFixed(2), verdict(Math.abs(n.predictedPct - n.measuredPct) <= 5)]),
      note: `Largest error: ${s.maxErrorPct} points. For context, the CEF model's own hash (${s.modelHash.algorithm}, Cisco's algorithm as the model implements it, not the kernel's) would put ${s.modelHash.nodes.map((n) => `${n.name} ${n.pct}%`).join(', ')} on these sources; its algorithms name the kernel's next hop for ${s.modelHash.agreement.map((a) => `${a.algorithm} ${a.exactPct}% (best order ${a.bestOrderPct}%)`).join(', ')} of sources, chance being ${s.modelHash.chancePct}%: the kernel's hash is a different function, so the exact-route table, not the Cisco hash, is what the prediction uses.`,
    });
  }
  if (r.nodeLoss) {
    const n = r.nodeLoss;
    out.push({
      title: 'Node loss under load',
      intro: `${n.node} killed (SIGKILL) under ${r.qps} q/s. Predicted window from the SLA/track timers: the next probe within frequency ${p.frequencyS} s, its timeout ${p.timeoutMs} ms, then delay down ${t.delayDownS} s: [${n.predictedWindowS[0]}, ${n.predictedWindowS[1]}] s after the kill.`,
      head: ['measure', 'predicted', 'measured', 'agrees'],
      rows: [
        ['withdrawn after (s)', `${n.predictedWindowS[0]}–${n.predictedWindowS[1]}`, n.withdrawnAfterS ?? 'never', verdict(n.inWindow)],
        ['queries lost', `${n.predictedLostRange[0]}–${n.predictedLostRange[1]} (q/s × its share × window)`, `${n.lostQueries} of ${n.sent}`, verdict(n.lostQueries >= n.predictedLostRange[0] * 0.9 && n.lostQueries <= n.predictedLostRange[1] * 1.1 + 50)],
        ['the other nodes took its load', 'yes', n.othersTookLoad ? 'yes' : 'no', verdict(n.othersTookLoad)],
      ],
    });
  }
  if (r.drain) {
    const d = r.drain;
    const rows: Array<Array<string | number>> = [
      ['queries lost while draining', 0, `${d.lostQueries} of ${d.sent}`, verdict(d.lostQueries === 0)],
      ['withdrawn after (s), node sends no answer to the probe', `${d.predictedWindowS[0]}–${d.predictedWindowS[1]}`, d.withdrawnAfterS ?? 'never', verdict(d.inWindow)],
    ];
    if (d.refusedOnLenientSwitch) {
      rows.push([`${d.refusedOnLenientSwitch.node} answering REFUSED, switch counting any reply as success`, 'never withdrawn', d.refusedOnLenientSwitch.withdrawn ? 'withdrawn' : `still routed after ${d.refusedOnLenientSwitch.waitedS} s`, verdict(!d.refusedOnLenientSwitch.withdrawn)]);
    }
    out.push({
      title: 'Drain under load',
      intro: `${d.node}'s drain file created under ${r.qps} q/s. The node keeps answering every query; by default it gives no answer to the probe name, so the switch's probes time out and the track goes down after the timeout and delay down.`,
      head: ['measure', 'predicted', 'measured', 'agrees'],
      rows,
      note: d.refusedOnLenientSwitch ? 'The last row is why the default is silence: a REFUSED drain relies on the switch counting an error reply as a failure, which Cisco does not document.' : undefined,
    });
  }
  if (r.cascade) {
    const c = r.cascade;
    out.push({
      title: 'Site loss and cascade',
      intro: `Each ${c.failoverSite} node capped at ${c.quotaPct}% of one CPU (cgroup v1 cpu.cfs_quota_us); loadtest capacity inside the lab measured one at ${c.capacityQps ?? 'no'} q/s (${c.capacityNote}). The failover model (loadtest/model, split "even", overload 1.0, that capacity per node) predicts whether losing ${c.failedSite} cascades; the lab fails ${c.failedSite} (every probe of its switch fails) under the same load and watches ${c.failoverSite}'s switch for 11 s.`,
      head: ['offered q/s', 'model: hottest node', 'model', 'lab', 'withdrawn in the lab', 'failed probes there', 'queries lost', 'agrees'],
      rows: c.runs.map((x) => [x.offeredQps, `${Math.round(100 * x.predictedHottestUtilization)}%`, x.predicted ? 'cascade' : 'survives', x.measured ? 'cascade' : 'survives', x.withdrawn.join(', ') || '—', Object.entries(x.probeFailures).map(([k, v]) => `${k} ${v}`).join(', ') || 'none', `${x.lostQueries} of ${x.sent}`, verdict(x.predicted === x.measured)]),
      note: `${c.detail}. ${c.runs.every((x) => x.predicted === x.measured) ? '' : CASCADE_MISMATCH}`,
    });
  }
  if (r.failOpen) {
    const f = r.failOpen;
    out.push({
      title: 'Fail-open: every probe fails at once',
      intro: `Every switch's probes fail at once (as when the probe name breaks on every node), under ${r.qps} q/s, first with the inventory's tracked statics only, then with service.failOpen (floating routes at distance 250).`,
      head: ['configuration', 'queries sent', 'black-holed'],
      rows: [['tracked statics only', f.withoutFailOpen.sent, f.withoutFailOpen.blackholedQueries], ['with failOpen', f.withFailOpen.sent, f.withFailOpen.blackholedQueries]],
      note: 'Without fail-open every switch withdraws every node and the whole service goes dark until the probes heal; with it, the floating routes take over once no tracked route is left anywhere.',
    });
  }
  return out;
}

/** What the runs so far showed when the lab and the model disagreed (see lab/README.md). */
const CASCADE_MISMATCH =
  'Why they can disagree: the model withdraws a node deterministically once its load passes capacity x overload. In the lab a node is withdrawn only when ' +
  'delay-down seconds of consecutive probes fail; an overloaded node drops a fraction of datagrams, the probe among them only by chance, so withdrawal above capacity is probabilistic. ' +
  'Below capacity, a node capped by a CFS quota stalls for most of each 100 ms period; its own health self-check can then fail (probe answered REFUSED, "error-reply" above) ' +
  'and withdraw it although its throughput suffices. Capacity measured with loadtest capacity on such a node is also noisy from run to run.';

export function renderLabMarkdown(r: LabReport): string {
  const lines = [`# Anycast lab report`, '', `Inventory ${r.inventory}; started ${r.startedAt}; ${r.elapsedS ?? '?'} s in all.`, ''];
  for (const s of sections(r)) {
    lines.push(`## ${s.title}`, '', s.intro, '', mdTable(s.head, s.rows), '');
    if (s.note) lines.push(s.note, '');
  }
  if (r.shares) lines.push('## The exact-route table (kernel)', '', '```', r.shares.exactRouteCapture, '```', '');
  return lines.join('\n');
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderLabHtml(r: LabReport): string {
  const body = sections(r).map((s) => `<h2>${esc(s.title)}</h2>\n<p>${esc(s.intro)}</p>\n<table><thead><tr>${s.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${s.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(String(c).replace(/\*\*/g, ''))}</td>`).join('')}</tr>`).join('')}</tbody></table>${s.note ? `\n<p>${esc(s.note)}</p>` : ''}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Anycast lab report</title>
<style>body{font:15px/1.45 system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#1d2733}table{border-collapse:collapse;margin:8px 0 14px}th,td{border:1px solid #d5dbe3;padding:4px 8px;text-align:left}th{background:#f1f4f8}pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:300px}</style>
</head><body>
<h1>Anycast lab report</h1>
<p>Inventory ${esc(r.inventory)}; started ${esc(r.startedAt)}; ${esc(r.elapsedS ?? '?')} s in all.</p>
${body}
${r.shares ? `<h2>The exact-route table (kernel)</h2><pre>${esc(r.shares.exactRouteCapture)}</pre>` : ''}
</body></html>
`;
}
