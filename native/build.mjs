// Compiles native/fastudp.c into native/build/fastudp.node with the C compiler
// (cc, or $CC), against the headers that ship with the Node that runs this script
// (the pinned node devDependency carries include/node). No node-gyp: the addon is
// one file, and node-gyp would want to download headers.
//
// A machine without a compiler still gets a working kit: the build prints why it
// was skipped and UDP falls back to node:dgram (slower; see native/README.md).
// ANYCAST_KIT_REQUIRE_NATIVE=1 turns a failed build into an error (CI sets it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'fastudp.node');
const required = process.env.ANYCAST_KIT_REQUIRE_NATIVE === '1';

function fail(why) {
  if (required) {
    process.stderr.write(`native/build: ${why}\n`);
    process.exit(1);
  }
  process.stderr.write(`native/build: fastudp not built (${why}); UDP uses node:dgram\n`);
  process.exit(0);
}

if (process.platform !== 'linux') fail(`recvmmsg/sendmmsg need Linux, this is ${process.platform}`);
const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'];
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
if (!include) fail(`no node_api.h and uv.h in ${candidates.join(' or ')}`);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
const args = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror', '-fPIC', '-shared',
  '-fvisibility=hidden', '-I', include, join(here, 'fastudp.c'), '-o', out];
try {
  execFileSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (err) {
  rmSync(out, { force: true });
  fail(`${cc} failed: ${err.message.split('\n')[0]}`);
}
