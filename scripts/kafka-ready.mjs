// Readiness probe for the broker: exits 0 once a client can fetch cluster metadata and a consumer
// group's coordinator answers. A fresh broker creates __consumer_offsets on the first coordinator
// lookup; until it has, a consumer that starts fails with "Failed to find group coordinator".
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } }).admin();
try {
  await admin.connect();
  const { brokers: live } = await admin.describeCluster();
  if (live.length === 0) process.exit(1);
  await admin.describeGroups(['shop-readiness-probe']);
  await admin.disconnect();
  process.exit(0);
} catch {
  process.exit(1);
}
