// The sender thread's producer, acknowledging 200 ms late: a broker under load (kafka-sink.test.ts).
import type { EventProducer } from '../../gateway/proxy/events/kafka/producer.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export function wrapProducer(real: EventProducer): EventProducer {
  return {
    send: async (records) => {
      await sleep(200);
      await real.send(records);
    },
    connect: () => real.connect(),
    close: () => real.close(),
  };
}
