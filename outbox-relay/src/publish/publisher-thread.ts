// The Kafka side of the relay, in its own thread: kafkajs's record encoding was half of the
// relay's CPU, and with WAL decoding on the same thread one core bounded the throughput while
// the other sat idle. One KafkaPublisher per database, as in the single-threaded relay.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@shop/lib/logger';
import { createKafka } from '@shop/lib/messaging/kafka';
import { KafkaPublisher } from './kafka-publisher.ts';
import type { PublisherRequest, PublisherThreadOptions } from './threaded-publisher.ts';

const options = workerData as PublisherThreadOptions;
const logger = createLogger('outbox-relay', options.logLevel).child({ thread: 'publisher' });
const kafka = createKafka({ clientId: 'outbox-relay', brokers: options.brokers, logger });
const publishers = options.sources.map((source) => new KafkaPublisher(kafka, options.partitions, source));

parentPort!.on('message', (request: PublisherRequest) => {
  const work = (): Promise<unknown> => {
    switch (request.op) {
      case 'publish':
        return publishers[request.index].publish(request.messages);
      case 'reachable':
        return publishers[request.index].isReachable();
      case 'close':
        return Promise.allSettled(publishers.map((p) => p.close()));
    }
  };
  work().then(
    () => parentPort!.postMessage({ id: request.id, ok: true }),
    (error: Error) => parentPort!.postMessage({ id: request.id, ok: false, message: error.message, name: error.name }),
  );
});
