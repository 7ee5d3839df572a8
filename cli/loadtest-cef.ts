// Placeholder until the part lands; replaced by the part's owner.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('anycast-kit loadtest-cef: not built yet\n');
  return 1;
}
