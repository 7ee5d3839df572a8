// placeholder, replaced below
import type { ResolverHandle } from './api.js';
import type { ResolverConfig } from './config.js';
import type { StartOptions } from './server.js';
export async function startWorkers(_cfg: ResolverConfig, _o: StartOptions): Promise<ResolverHandle> {
  throw new Error('--workers > 1 is not built yet');
}
