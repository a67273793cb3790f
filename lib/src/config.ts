// Configuration from environment variables, validated once at start-up.
// Every reader collects its problem instead of throwing, so a bad deployment sees all of them at once.
// Any variable can also come from a file: `<NAME>_FILE` names it (how Docker and Kubernetes mount
// secrets); its content is the value, less one trailing newline, and a problem with it never
// repeats it (a file is where secrets are kept).
import { readFileSync } from 'node:fs';
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export class EnvReader {
  private readonly problems: string[] = [];
  private readonly env: Env;
  /** Variables whose value came from a file: never quoted in a problem. */
  private readonly fromFile = new Set<string>();

  constructor(env: Env = process.env) {
    this.env = env;
  }

  private shown(name: string, value: string): string {
    return this.fromFile.has(name) ? `${name} (from ${name}_FILE)` : `${name}=${JSON.stringify(value)}`;
  }

  /** The variable's value, from itself or from the file `<NAME>_FILE` names; undefined when neither is set. */
  private read(name: string): string | undefined {
    const direct = this.env[name];
    const file = this.env[`${name}_FILE`];
    if (file === undefined || file === '') return direct;
    if (direct !== undefined && direct !== '') {
      this.problems.push(`set ${name} or ${name}_FILE, not both`);
      return direct;
    }
    try {
      const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      this.fromFile.add(name);
      return value;
    } catch (error) {
      this.problems.push(`${name}_FILE=${JSON.stringify(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  }

  str(name: string, fallback: string, opts: { pattern?: RegExp } = {}): string {
    const raw = this.read(name);
    const value = raw === undefined || raw === '' ? fallback : raw;
    if (opts.pattern && !opts.pattern.test(value)) this.problems.push(`${this.shown(name, value)} does not match ${opts.pattern}`);
    return value;
  }

  optional(name: string): string | undefined {
    const raw = this.read(name);
    return raw === undefined || raw === '' ? undefined : raw;
  }

  int(name: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    const raw = this.read(name);
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      this.problems.push(`${this.shown(name, raw)} is not an integer`);
      return fallback;
    }
    if (opts.min !== undefined && value < opts.min) this.problems.push(`${name}=${value} is below ${opts.min}`);
    if (opts.max !== undefined && value > opts.max) this.problems.push(`${name}=${value} is above ${opts.max}`);
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.read(name)?.toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${this.shown(name, raw)} is not a boolean`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.read(name);
    if (raw === undefined || raw === '') return fallback;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Records a problem a reader found across several variables (reported with the rest by done()). */
  fail(problem: string): void {
    this.problems.push(problem);
  }

  /** Throws one ConfigError naming every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export const LOG_LEVELS = /^(fatal|error|warn|info|debug|trace|silent)$/;

/** Settings every process shares: where the infrastructure is and how to log. */
export function readCommonConfig(env: EnvReader) {
  return {
    logLevel: env.str('LOG_LEVEL', 'info', { pattern: LOG_LEVELS }),
    kafkaBrokers: env.list('KAFKA_BROKERS', ['127.0.0.1:9092']),
    redisUrl: env.str('REDIS_URL', 'redis://127.0.0.1:6379'),
    host: env.str('HOST', '127.0.0.1'),
    topicPartitions: env.int('TOPIC_PARTITIONS', 6, { min: 1, max: 1000 }),
    // A client gets this long to send its headers, and its whole request (a slow body holds a socket).
    http: {
      headersTimeoutMs: env.int('HTTP_HEADERS_TIMEOUT_MS', 5_000, { min: 100, max: 120_000 }),
      requestTimeoutMs: env.int('HTTP_REQUEST_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    },
    // How long a SIGTERM may take in all; what is not closed by then is abandoned (lib/src/lifecycle.ts).
    shutdownGraceMs: env.int('SHUTDOWN_GRACE_MS', 5_000, { min: 100, max: 120_000 }),
  };
}
