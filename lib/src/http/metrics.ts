import client from 'prom-client';

/** One registry per process, with Node's default metrics, labelled with the service name. */
export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export { client as prom };

/**
 * The registry's counter of that name, created on first use: a component that is rebuilt
 * (a consumer restarted after a Kafka outage) keeps counting into the same series.
 */
export function counter<L extends string>(registry: client.Registry, config: { name: string; help: string; labelNames: readonly L[] }): client.Counter<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as client.Counter<L>;
  return new client.Counter<L>({ ...config, registers: [registry] });
}

/** The registry's histogram of that name, created on first use (as `counter`). */
export function histogram<L extends string>(
  registry: client.Registry,
  config: { name: string; help: string; labelNames: readonly L[]; buckets: number[] },
): client.Histogram<L> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as client.Histogram<L>;
  return new client.Histogram<L>({ ...config, registers: [registry] });
}
