import client from 'prom-client';

/** One registry per process, with Node's default metrics, labelled with the service name. */
export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export { client as prom };
