import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { stopKafkajsIdleLoop } from './kafkajs-idle-loop.ts';
import { kafkajsLineLevel } from './kafkajs-log.ts';
import { shuttingDown } from '../lifecycle.ts';

// kafkajs' own log lines go through pino so every process logs one JSON format; kafkajsLineLevel
// says which of them matter. A stack is kept for debug only: a warning names what failed.
function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string; [k: string]: unknown } }) => {
      const { message, timestamp: _t, logger: _l, stack, ...rest } = log;
      const fields = { component: 'kafkajs', ...rest };
      // Once the process is stopping, a broker that cannot be reached is what the shutdown's own
      // line reports (what it abandoned), not a warning per retry.
      if (!shuttingDown() && kafkajsLineLevel(level, message, rest) === 'warn') logger.warn(fields, message);
      else if (logger.isLevelEnabled('debug')) logger.debug({ ...fields, stack }, message);
    };
}

export function createKafka(opts: { clientId: string; brokers: string[]; logger: Logger }): Kafka {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  if (!stopKafkajsIdleLoop()) opts.logger.debug('kafkajs is not the release with the idle request-queue loop; left as it is');
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(opts.logger),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
  });
}

/** Creates the topics that are missing; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, topics: string[], numPartitions: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics.filter((t) => !existing.has(t)).map((topic) => ({ topic, numPartitions, replicationFactor: 1 }));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another process may have created them between list and create.
    if (!String((error as Error).message).includes('already exists')) throw error;
  }
}

/** Topic naming: each service publishes on `<aggregateType>.events`; dead letters on `<topic>.dlq`. */
export const topicFor = (aggregateType: string) => `${aggregateType}.events`;
export const dlqFor = (topic: string) => `${topic}.dlq`;
