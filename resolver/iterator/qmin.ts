// QNAME minimisation (RFC 9156): a server is sent only as many labels of the name
// as it needs to say where the next zone cut is. Asking the root for "com A"
// instead of "www.example.com A" tells it nothing it does not need to know.
//
// The iterator asks this module what to send (nextQuestion, from
// Iterator.questionFor, the one place that decides it) and tells it what a reply
// to a minimised question meant (minimisedReply). The state lives in the task and
// restarts below each new cut (Iterator.enter).
//
// As unbound does by default ("relaxed"), and with its numbers:
//   - minimised questions ask type A for one label more than the cut; the last
//     label goes with the real question and type; DS questions are not minimised;
//   - the first MINIMISE_ONE_LAB iterations add one label each, later ones spread
//     the labels left over the iterations left, so one resolution sends at most
//     MAX_MINIMISE_COUNT minimised names in all (RFC 9156 section 2.3);
//   - NOERROR (data, CNAME or NODATA) for the minimised name: no cut there, add the
//     next labels; a referral: descend, as for any question;
//   - relaxed: NXDOMAIN, REFUSED, SERVFAIL, FORMERR, a lame-looking reply, or
//     MAX_MINIMISE_TIMEOUTS timeouts of minimised questions: send the full question
//     from then on (many servers answer NXDOMAIN for empty non-terminals, and some
//     choke on type A at a name that has none), before anything is marked lame;
//   - strict: NXDOMAIN for the minimised name is the answer (RFC 8020: nothing
//     exists below it); other failures count against the server as for any
//     question; never the full name early.

import { TYPE } from '../../dns/constants.js';
import { isSubdomain, labelCount, lowerName, splitLabels } from '../../dns/name.js';
import type { QnameMinimisation } from '../config.js';
import type { AskedQuestion } from './delegpt.js';

/** Minimised names one resolution may send (unbound's MAX_MINIMISE_COUNT, RFC 9156 section 2.3). */
export const MAX_MINIMISE_COUNT = 10;
/** Iterations that add exactly one label before labels are added several at a time (MINIMISE_ONE_LAB). */
export const MINIMISE_ONE_LAB = 4;
/** Timeouts of minimised questions before relaxed mode sends the full question (MAX_MINIMISE_TIMEOUT_COUNT). */
export const MAX_MINIMISE_TIMEOUTS = 3;

/** A question cut short by minimisation: type A for an ancestor of the resolution's name. */
export class MinimisedQuestion implements AskedQuestion {
  readonly class: number;
  constructor(readonly name: string, readonly type: number, cls: number) {
    this.class = cls;
  }
}

/** Minimisation progress of one resolution. */
export interface Minimisation {
  mode: QnameMinimisation;
  /** Labels below the current cut known to hold no cut of their own. */
  labels: number;
  /** Minimised names sent so far in this resolution (bounded by MAX_MINIMISE_COUNT). */
  iterations: number;
  /** Timeouts of minimised questions. */
  timeouts: number;
  /** The minimised name sent last, and its labels below the cut. */
  lastName: string | undefined;
  lastLabels?: number;
  /** Send the full question from now on. */
  full: boolean;
}

/**
 * The minimised question to send to a server of `cut` for `full`, or undefined to
 * send the full question. `knownToExist(name)` says the cache already holds data
 * or NODATA for a name, so it holds no cut (or the cache would have had one): such
 * names are passed over without a query.
 */
export function nextQuestion(m: Minimisation, full: AskedQuestion, cut: string, knownToExist: (name: string) => boolean): MinimisedQuestion | undefined {
  if (m.mode === 'off' || m.full || full.type === TYPE.DS) return undefined;
  if (!isSubdomain(full.name, cut)) return undefined;
  const labels = splitLabels(full.name);
  const below = labels.length - labelCount(cut);
  for (;;) {
    const left = below - m.labels;
    const step = m.iterations < MINIMISE_ONE_LAB ? 1 : Math.max(1, Math.floor(left / Math.max(1, MAX_MINIMISE_COUNT - m.iterations)));
    const k = m.labels + step;
    // The last label (or labels) go with the real question.
    if (k >= below) return undefined;
    const name = labels.slice(below - k).join('.');
    if (m.lastName !== undefined && lowerName(name) === lowerName(m.lastName)) return new MinimisedQuestion(name, TYPE.A, full.class);
    if (knownToExist(name)) { m.labels = k; continue; }
    if (m.iterations >= MAX_MINIMISE_COUNT) return undefined;
    m.iterations++;
    m.lastName = name;
    m.lastLabels = k;
    return new MinimisedQuestion(name, TYPE.A, full.class);
  }
}

/** What a reply to a minimised question said about the name asked. */
export type MinimisedVerdict = 'exists' | 'nxdomain' | 'broken' | 'timeout';

/**
 * Moves minimisation on after a reply (or a timeout) to a minimised question.
 * Returns 'nxdomain' when (strict mode) the resolution's answer is NXDOMAIN, else
 * 'continue' (ask again: next labels, or the full question).
 */
export function minimisedReply(m: Minimisation, verdict: MinimisedVerdict, asked?: MinimisedQuestion): 'continue' | 'nxdomain' | 'fail' {
  switch (verdict) {
    case 'exists':
      // A late reply for an older name says less than we know already.
      if (asked && m.lastName !== undefined && lowerName(asked.name) === lowerName(m.lastName) && m.lastLabels !== undefined) m.labels = Math.max(m.labels, m.lastLabels);
      return 'continue';
    case 'nxdomain':
      if (m.mode === 'strict') return 'nxdomain';
      m.full = true;
      return 'continue';
    case 'broken':
      if (m.mode === 'strict') return 'fail';
      m.full = true;
      return 'continue';
    case 'timeout':
      m.timeouts++;
      if (m.mode !== 'strict' && m.timeouts >= MAX_MINIMISE_TIMEOUTS) m.full = true;
      return 'continue';
  }
}
