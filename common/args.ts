// Flag parsing shared by every subcommand and by the parts that read flags themselves
// (resolver/config.ts, loadtest/driver/cli-common.ts), on top of node:util parseArgs.
// It lives in common/ so that no part reaches up into cli/.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** UsageError's machine code (a closed set of one; see docs/errors.md). */
export type UsageErrorCode = 'USAGE';

/** A bad command line: printed without a stack, exit status 2. */
export class UsageError extends Error {
  readonly code: UsageErrorCode = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<T> {
  values: T;
  positionals: string[];
  /** True when --help was given; the caller prints help and returns 0. */
  help: boolean;
}

/**
 * Parses argv strictly. Unknown flags and missing values become a UsageError that
 * names the flag, so operators see "unknown flag --lissten" rather than a stack trace.
 */
export function parseFlags<T = Record<string, unknown>>(argv: string[], options: Options, allowPositionals = false): Parsed<T> {
  const withHelp: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  try {
    const r = parseArgs({ args: argv, options: withHelp, allowPositionals, strict: true });
    const { help, ...values } = r.values as Record<string, unknown>;
    return { values: values as T, positionals: r.positionals, help: help === true };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

/** Parses a non-negative integer flag, naming the flag on error. */
export function intFlag(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Splits "ADDR:PORT", "[v6]:PORT" or "v6addr" forms. */
export function parseHostPort(text: string, flag: string, defaultPort?: number): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, portText] = text.split(':');
  } else {
    host = text;
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${flag} "${text}" needs a port, as ADDR:PORT or [V6]:PORT`);
  }
  return { host, port };
}
