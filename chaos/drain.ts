import type { Admin } from 'kafkajs';

export const CONSUMER_GROUPS: Record<string, string[]> = {
  'order-service': ['inventory.events', 'payment.events'],
  'inventory-service': ['order.events'],
  'payment-service': ['order.events'],
  'notification-service': ['order.events'],
};

/** Messages the groups have not committed yet, summed over their topics' partitions. */
export async function consumerLag(admin: Admin, groups: Record<string, string[]> = CONSUMER_GROUPS): Promise<number> {
  let lag = 0;
  for (const [groupId, topics] of Object.entries(groups)) {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const end of ends) {
        const c = Number(committed.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
        lag += Math.max(0, Number(end.offset) - Math.max(c, Number(end.low)));
      }
    }
  }
  return lag;
}
