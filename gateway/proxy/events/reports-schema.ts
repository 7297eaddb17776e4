import Type from 'typebox';

/** Where the admin API's reports come from when events do not stay on this node. */
export const ReportsSchema = Type.Object(
  {
    clickhouse_url: Type.String({
      default: '',
      description:
        'Cluster mode: serve /reports, /billing and /stats from this ClickHouse (HTTP URL); ' +
        'empty = the embedded store when events.sink is embedded, else no reports (default "").',
    }),
    clickhouse_database: Type.String({
      minLength: 1,
      default: 'tollgate',
      description: 'Database the migrations created (default tollgate).',
    }),
    redis_url: Type.String({
      default: '',
      description:
        'Redis holding the collector\'s live counters, for /stats/live; empty = live stats degraded (default "").',
    }),
    redis_prefix: Type.String({
      minLength: 1,
      default: 'tollgate:live:',
      description: 'Key prefix of the live counters (default tollgate:live:).',
    }),
  },
  { additionalProperties: false, default: {} },
);
