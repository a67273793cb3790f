// Readiness probe for the broker: exits 0 once a client can fetch cluster metadata.
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } }).admin();
try {
  await admin.connect();
  const { brokers: live } = await admin.describeCluster();
  await admin.disconnect();
  process.exit(live.length > 0 ? 0 : 1);
} catch {
  process.exit(1);
}
