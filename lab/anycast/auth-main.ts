// The lab's authoritative mini-internet inside one node namespace (on its own loopback),
// so that node's resolver recurses without leaving the namespace. Prints one JSON line.
import { startLab } from '../index.js';

const lab = await startLab({ port: Number(process.argv[2] ?? 5300) });
process.stdout.write(JSON.stringify({ rootHintsFile: lab.rootHintsFile, upstreamPort: lab.upstreamPort, trustAnchorFile: lab.trustAnchorFile }) + '\n');
const stop = () => void lab.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
