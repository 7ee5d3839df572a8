// Name helpers for hot paths of the iterator and its caches. Same results as
// dns/name.ts, without allocating in the common case (no upper case, no escapes).

import { lowerName, parentName } from '../../dns/name.js';

/** ASCII lower-casing that returns the same string when there is nothing to change. */
export function fastLower(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return lowerName(name);
  }
  return name;
}

/** Parent name, or null for the root; a plain indexOf when the name has no escapes. */
export function fastParent(name: string): string | null {
  if (name === '') return null;
  if (name.includes('\\')) return parentName(name);
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}
