import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkajsLineLevel } from './kafkajs-log.ts';

describe('kafkajsLineLevel', () => {
  it('sends what kafkajs retries by itself to debug', () => {
    const coordinatorLoading = "The coordinator is loading and hence can't process requests for this group";
    expect(kafkajsLineLevel(logLevel.WARN, 'Response InitProducerId(key: 22, version: 1)', { error: coordinatorLoading })).toBe('debug');
    expect(kafkajsLineLevel(logLevel.WARN, 'Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' })).toBe(
      'debug',
    );
    expect(kafkajsLineLevel(logLevel.WARN, 'Response CreateTopics(key: 19, version: 3)', { error: 'Topic creation errors' })).toBe('debug');
    expect(kafkajsLineLevel(logLevel.WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees', {})).toBe('debug');
    expect(kafkajsLineLevel(logLevel.ERROR, `Crash: KafkaJSProtocolError: ${coordinatorLoading}`, {})).toBe('debug');
    expect(kafkajsLineLevel(logLevel.ERROR, 'Restarting the consumer in 300ms', {})).toBe('debug');
    expect(kafkajsLineLevel(logLevel.ERROR, 'Connection error: write after end', {})).toBe('debug');
    expect(kafkajsLineLevel(logLevel.WARN, 'Response without match', { correlationId: 5 })).toBe('debug');
    expect(kafkajsLineLevel(logLevel.WARN, 'Failed to send messages: This server is not the leader for that topic-partition', { retryCount: 0 })).toBe('debug');
  });

  it('keeps a protocol error kafkajs does not retry, and anything it does not know', () => {
    expect(
      kafkajsLineLevel(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', { error: 'The request attempted to perform an operation on an invalid topic' }),
    ).toBe('warn');
    expect(
      kafkajsLineLevel(logLevel.ERROR, 'Response SaslAuthenticate(key: 36, version: 1)', { error: 'Request is not valid given the current SASL state' }),
    ).toBe('warn');
    expect(kafkajsLineLevel(logLevel.WARN, 'Consumer group received unsubscribed topics', {})).toBe('warn');
    expect(kafkajsLineLevel(logLevel.WARN, 'Failed to send messages: Topic authorization failed', {})).toBe('warn');
    expect(kafkajsLineLevel(logLevel.ERROR, 'Offset out of range, resetting to default offset', {})).toBe('warn');
  });

  it('never raises info or debug lines', () => {
    expect(kafkajsLineLevel(logLevel.INFO, 'Starting', {})).toBe('debug');
    expect(kafkajsLineLevel(logLevel.DEBUG, 'Request Metadata', {})).toBe('debug');
  });
});
