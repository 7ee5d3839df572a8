// Cryptographically secure random bytes without loading node:crypto. The resolver
// needs random query IDs, source ports and 0x20 bits, nothing else from crypto, and
// importing node:crypto loads the whole module (ciphers, keys, WebCrypto): about
// 1.8 MiB of RSS at start. The kernel's CSPRNG (/dev/urandom, the source
// node:crypto's own generator is seeded from) is read directly instead; where it
// cannot be opened, node:crypto is loaded on first use.

import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

let fd = -1;
let fallback: ((buf: Uint8Array) => void) | undefined;

function readUrandom(buf: Uint8Array): void {
  if (fallback) { fallback(buf); return; }
  if (fd < 0) {
    try {
      fd = openSync('/dev/urandom', 'r');
    } catch {
      const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
      fallback = (b) => { crypto.randomFillSync(b); };
      fallback(buf);
      return;
    }
  }
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, null);
    if (n <= 0) throw new Error('/dev/urandom returned no bytes');
    done += n;
  }
}

// Small requests (a few bytes per query) are served from a pool, so a query costs
// no system call; each byte is handed out once.
const POOL_BYTES = 4096;
const SMALL = 256;
const pool = new Uint8Array(POOL_BYTES);
let poolPos = POOL_BYTES;

/** Fills `buf` with random bytes from the kernel's CSPRNG. */
export function randomFill(buf: Uint8Array): void {
  const n = buf.length;
  if (n > SMALL) { readUrandom(buf); return; }
  if (poolPos + n > POOL_BYTES) { readUrandom(pool); poolPos = 0; }
  buf.set(pool.subarray(poolPos, poolPos + n));
  pool.fill(0, poolPos, poolPos + n);
  poolPos += n;
}

/** Closes the descriptor (tests); the next call opens it again. */
export function closeRandom(): void {
  if (fd >= 0) { closeSync(fd); fd = -1; }
}
