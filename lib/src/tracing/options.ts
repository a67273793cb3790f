// Tracing settings from the standard OTEL_* variables, validated with the rest of a process's
// configuration. Tracing is off unless an OTLP endpoint is configured.
import type { EnvReader } from '../config.ts';

export interface TracingOptions {
  /** Where spans go (OTLP/HTTP, JSON); undefined = tracing off. */
  tracesUrl?: string;
  /** OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS: `key=value,key=value`, e.g. an API key. */
  headers: Record<string, string>;
  /** OTEL_TRACES_SAMPLER_ARG: the share of new traces recorded (0..1); a sampled parent is always followed. */
  ratio: number;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait to be exported together. */
  scheduleDelayMs: number;
  /** OTEL_SERVICE_NAME, else the process's own name. */
  serviceName: string;
}

const parseHeaders = (raw: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (raw ?? '')
      .split(',')
      .map((pair) => pair.split('=').map((s) => decodeURIComponent(s.trim())))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== ''),
  );

export function readTracingOptions(env: EnvReader, processName: string): TracingOptions {
  const disabled = env.bool('OTEL_SDK_DISABLED', false) || env.str('OTEL_TRACES_EXPORTER', 'otlp') === 'none';
  const base = env.optional('OTEL_EXPORTER_OTLP_ENDPOINT');
  const traces = env.optional('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  const ratioText = env.str('OTEL_TRACES_SAMPLER_ARG', '1', { pattern: /^(0(\.\d+)?|1(\.0+)?)$/ });
  return {
    tracesUrl: disabled ? undefined : traces,
    headers: parseHeaders(env.optional('OTEL_EXPORTER_OTLP_TRACES_HEADERS') ?? env.optional('OTEL_EXPORTER_OTLP_HEADERS')),
    ratio: Number(ratioText) || 0,
    scheduleDelayMs: env.int('OTEL_BSP_SCHEDULE_DELAY', 1_000, { min: 10, max: 60_000 }),
    serviceName: env.str('OTEL_SERVICE_NAME', processName),
  };
}
