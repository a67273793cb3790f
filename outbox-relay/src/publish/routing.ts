import { topicFor } from '@shop/lib/messaging/kafka';

/** The relay knows only the outbox row's shape: the topic comes from `aggregate_type`. */
export function createRouter(overrides: Record<string, string>): (aggregateType: string) => string {
  return (aggregateType) => overrides[aggregateType] ?? topicFor(aggregateType);
}
