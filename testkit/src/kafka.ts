// A Kafka client for tools beside the stack.
import { Kafka, logLevel } from 'kafkajs';
import { EnvReader } from '@shop/lib/config';
import { stopKafkajsIdleLoop } from '@shop/lib/messaging/kafkajs-idle-loop';

/**
 * A silent client for scripts, benches and tests (KAFKA_BROKERS, default 127.0.0.1:9092), with
 * kafkajs' idle loop stopped as in the services, so a tool beside the stack costs what it does.
 */
export function toolKafka(clientId = 'tools'): Kafka {
  stopKafkajsIdleLoop();
  // read as the services read it (trimmed, empty entries dropped)
  return new Kafka({ clientId, brokers: new EnvReader().list('KAFKA_BROKERS', ['127.0.0.1:9092']), logLevel: logLevel.NOTHING });
}
