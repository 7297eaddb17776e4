/** `upstream.discovery`: targets from etcd or Consul (etcd.ts, consul.ts; docs/discovery.md). */
import Type from 'typebox';

const RegistryUrl = (description: string) => Type.String({ pattern: '^https?://[^/?#]+/?$', description });

const FilePath = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, description: `Absolute path of ${description}.` }));

/** TLS to a registry at https:// (its files read at validate, start, reload and each reconnect). */
const RegistryTlsSchema = Type.Object(
  {
    ca_file: FilePath(
      "a PEM bundle of the CAs that sign the registry's certificate, instead of the default store (Node's " +
        'Mozilla roots and NODE_EXTRA_CA_CERTS)',
    ),
    cert_file: FilePath('the client certificate (PEM) the gateway shows the registry; with key_file'),
    key_file: FilePath("that certificate's private key (PEM); with cert_file"),
  },
  {
    additionalProperties: false,
    description:
      'TLS to the registry (https:// addresses only): the CAs to trust and a client certificate. The files are ' +
      'read at validate, start and reload, and again at each reconnect, so a renewed certificate is used from the ' +
      'next one.',
  },
);

export const EtcdDiscoverySchema = Type.Object(
  {
    endpoints: Type.Array(RegistryUrl('An etcd client URL, `http://host:2379`.'), {
      minItems: 1,
      description: 'etcd client URLs, tried in turn when one fails.',
    }),
    prefix: Type.String({
      minLength: 1,
      description:
        'Key prefix; each key under it is one target, its value JSON: `{"url": "http://host:port", ' +
        '"weight": 2, "metadata": {...}}` (or `address` and `port` instead of `url`).',
    }),
    timeout_ms: Type.Integer({
      minimum: 100,
      default: 2000,
      description: 'Connect and call timeout; also how soon a hung etcd is noticed after a probe (default 2000).',
    }),
    probe_ms: Type.Integer({
      minimum: 500,
      default: 5000,
      description: 'How often a watching gateway checks that etcd still answers (default 5000).',
    }),
    username: Type.Optional(
      Type.String({ minLength: 1, description: 'etcd user (with auth enabled); needs read on the prefix.' }),
    ),
    password_file: FilePath(
      "a file holding that user's password (a mounted secret; read at each reconnect, trailing newline dropped)",
    ),
    tls: Type.Optional(RegistryTlsSchema),
  },
  { additionalProperties: false, description: 'Targets from etcd v3 keys under a prefix, kept by a watch.' },
);

export const ConsulDiscoverySchema = Type.Object(
  {
    address: RegistryUrl("The Consul agent's HTTP API, `http://127.0.0.1:8500`."),
    service: Type.String({
      minLength: 1,
      description: 'Consul service name; its passing instances are targets.',
    }),
    tag: Type.Optional(Type.String({ minLength: 1, description: 'Only instances with this tag (a canary group).' })),
    datacenter: Type.Optional(Type.String({ minLength: 1, description: "Datacenter (default the agent's)." })),
    token: Type.Optional(Type.String({ minLength: 1, description: 'ACL token, sent as X-Consul-Token.' })),
    token_file: FilePath(
      'a file holding the ACL token instead (a mounted secret; read at each reconnect, trailing newline dropped)',
    ),
    scheme: Type.Union([Type.Literal('http'), Type.Literal('https')], {
      default: 'http',
      description: 'Scheme of the discovered targets (default http).',
    }),
    weight_meta: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Service.Meta key whose integer value (1..1000) is the weight; without it, or when it is not a ' +
          "number: the instance's Weights.Passing.",
      }),
    ),
    wait_s: Type.Integer({
      minimum: 1,
      maximum: 300,
      default: 30,
      description: 'How long each blocking query waits for a change (default 30).',
    }),
    tls: Type.Optional(RegistryTlsSchema),
  },
  { additionalProperties: false, description: 'Targets from the passing instances of a Consul service.' },
);

export const DiscoverySchema = Type.Object(
  {
    etcd: Type.Optional(EtcdDiscoverySchema),
    consul: Type.Optional(ConsulDiscoverySchema),
  },
  {
    additionalProperties: false,
    description:
      'Targets from a service registry instead of `targets`: exactly one of etcd and consul. On a registry ' +
      'outage the last known targets keep serving (stale) and the gateway reconnects with backoff.',
  },
);
