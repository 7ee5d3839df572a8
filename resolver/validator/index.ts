// DNSSEC validation (see validator.ts for the design, resolver/README.md "DNSSEC validation").

import type { ResolverConfig } from '../config.js';
import type { IteratorHandle } from '../iterator/index.js';
import { loadAnchors } from './anchors.js';
import { Validator } from './validator.js';

export { Validator, DNSSEC_EDE, type Verdict, type Security } from './validator.js';
export { AnchorSet, loadAnchors, parseAnchors, builtinRootAnchors, ROOT_ANCHORS_TEXT } from './anchors.js';

/**
 * The validator in front of an iterator, or undefined when validation is off.
 * Reads the trust anchor files; a bad one throws a ConfigError (FILE:LINE: FIELD).
 * Debug logs go to `debug` (the resolver passes one when validator.debug is true).
 */
export function createValidator(cfg: ResolverConfig, it: IteratorHandle, debug?: (msg: string) => void): Validator | undefined {
  const v = cfg.validator;
  if (!v || !v.enabled) return undefined;
  const anchors = loadAnchors({ trustAnchors: v.trustAnchors, trustAnchorFiles: v.trustAnchorFiles, negativeTrustAnchors: v.negativeTrustAnchors });
  return new Validator(it, { anchors, cache: it.cache, bogusTtl: v.bogusTtl, debug });
}
