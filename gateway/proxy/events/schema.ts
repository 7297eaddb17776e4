import Type from 'typebox';

export const EventsSchema = Type.Object(
  {
    sink: Type.Union([Type.Literal('embedded'), Type.Literal('kafka'), Type.Literal('none')], {
      default: 'embedded',
      description:
        'Where access events go: a local segment log read by the in-process ' +
        'collector (single node), Kafka (cluster), or nowhere (default embedded).',
    }),
    node: Type.String({
      default: '',
      description: 'Gateway node name in every event; empty = the host name (default "").',
    }),
    dir: Type.String({
      default: '.data/events',
      description: 'Segment log (embedded) or spool (kafka) directory (default .data/events).',
    }),
    interim_ms: Type.Integer({
      minimum: 100,
      default: 60000,
      description:
        'A request open longer than this (a WebSocket or TCP connection, a gRPC stream, server-sent events, a long ' +
        'download or upload) gets an interim event each time it passes, with its bytes and messages since the ' +
        'last, so hour and day reports count traffic when it flows; it is one request, counted by its final event, ' +
        'which the next start records should the gateway be killed first, once it has been open a second ' +
        '(default 60000).',
    }),
    max_bytes: Type.Integer({
      minimum: 1048576,
      default: 1073741824,
      description: 'Disk bound of the log or spool; past it new events are dropped and counted (default 1073741824).',
    }),
    kafka: Type.Object(
      {
        brokers: Type.Array(Type.String({ pattern: '^[^\\s:]+:[0-9]{1,5}$' }), {
          default: ['127.0.0.1:9092'],
          description: 'Bootstrap brokers, host:port (default ["127.0.0.1:9092"]).',
        }),
        topic: Type.String({
          minLength: 1,
          default: 'tollgate.access-events',
          description: 'Topic of access events (default tollgate.access-events).',
        }),
        client_id: Type.String({
          minLength: 1,
          default: 'tollgate-gateway',
          description: 'Kafka client id (default tollgate-gateway).',
        }),
        flush_ms: Type.Integer({
          minimum: 1,
          maximum: 10000,
          default: 10,
          description:
            'A batch is sent at most this long after its first event (default 10); while a send is in flight ' +
            'the next batch grows, so a slow broker gets larger batches, not more requests.',
        }),
        batch_events: Type.Integer({
          minimum: 1,
          maximum: 100000,
          default: 1000,
          description: 'A batch is sent once it holds this many events (default 1000).',
        }),
        compression: Type.Union(
          ['none', 'gzip', 'snappy', 'lz4', 'zstd'].map((c) => Type.Literal(c)),
          { default: 'lz4', description: 'Batch compression (default lz4).' },
        ),
        timeout_ms: Type.Integer({
          minimum: 100,
          default: 5000,
          description: 'A send not acknowledged (acks=all) within this is retried from the spool (default 5000).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
