import Type, { type Static } from 'typebox';

export const PROTOCOLS = ['http/1.1', 'h2', 'h2c'] as const;
export type ListenerProtocol = (typeof PROTOCOLS)[number];

const FilePath = (what: string) =>
  Type.String({
    minLength: 1,
    description: `${what} A relative path is taken from the directory of the config file given with --config.`,
  });

const CertificateSchema = Type.Object(
  {
    cert: FilePath('PEM file: the certificate, then its chain (leaf first).'),
    key: FilePath('PEM file: the private key of that certificate, unencrypted.'),
  },
  { additionalProperties: false },
);

const ClientCertificatesSchema = Type.Object(
  {
    ca: FilePath('PEM file of the CAs a client certificate must chain to.'),
    crl: Type.Optional(
      FilePath(
        'PEM file of certificate revocation lists from those CAs: a certificate they revoke is refused as one from ' +
          'another CA is. Every client certificate must then be covered by a CRL in the file, and one past its next ' +
          'update fails them all, as with nginx ssl_crl. Changes apply on reload or when the file changes.',
      ),
    ),
    forward_details: Type.Boolean({
      default: false,
      description:
        'Requests over a connection with a verified client certificate carry X-Forwarded-Client-Cert upstream (as ' +
        'Envoy writes it: its SHA-256 hash, subject, URI and DNS subjectAltNames) (default false). A header a ' +
        'client sent itself is removed on every listener unless it comes from `trusted_proxies`.',
    }),
    required: Type.Boolean({
      default: true,
      description:
        'true: a client without a certificate from `ca` fails the handshake. false: it is asked for one, and ' +
        'requests without one go on unidentified (an `mtls` auth route still refuses them) (default true).',
    }),
  },
  { additionalProperties: false },
);

const OcspStaplingSchema = Type.Object(
  {
    responder: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          'URL of the OCSP responder to ask, instead of the one each certificate names (its Authority ' +
          'Information Access), as nginx ssl_stapling_responder.',
      }),
    ),
    timeout_ms: Type.Integer({
      minimum: 100,
      default: 5000,
      description: 'A responder must answer within this, or the fetch counts as unreachable (default 5000).',
    }),
  },
  {
    additionalProperties: false,
    description:
      "Staple each certificate's OCSP response to handshakes that ask for it (status_request), so clients need not " +
      'ask the CA. Each cert file must hold its issuing CA after the certificate. A response is stapled only when ' +
      'it is signed by that CA (or a responder it delegated to), current and good; it is fetched at start and ' +
      'halfway through its validity (at least every hour), retried from 5 s to every 5 minutes after a failure, ' +
      'and the last good one stays stapled until its nextUpdate. A revoked certificate is stapled nothing. ' +
      'Each worker fetches its own.',
  },
);

const TlsVersion = (def: string, what: string) =>
  Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
    default: def,
    description: `${what} (default ${def}).`,
  });

export const ListenerTlsSchema = Type.Object(
  {
    certificates: Type.Array(CertificateSchema, {
      minItems: 1,
      maxItems: 1000,
      description:
        'Certificates this listener serves. The first is the default; each other is chosen by SNI for the names it ' +
        'holds (its DNS subjectAltNames, `*.example.com` matching one label; its subject CN when it has none). ' +
        'Two may hold the same names with keys of different types (RSA and ECDSA): a client that can check ECDSA ' +
        'gets that one, others the RSA one. Changes apply on reload, to new connections; open ones keep theirs.',
    }),
    unknown_server_name: Type.Union([Type.Literal('default'), Type.Literal('reject')], {
      default: 'default',
      description:
        'A client asking for a name no certificate holds: `default` gets the first certificate, `reject` fails the ' +
        'handshake (unrecognized_name). A client that names no server (it connected by address) gets the first ' +
        'either way (default default).',
    }),
    min_version: TlsVersion('TLSv1.2', 'Oldest TLS version accepted'),
    max_version: TlsVersion('TLSv1.3', 'Newest TLS version offered'),
    ciphers: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'OpenSSL cipher list for TLS 1.2, and TLS 1.3 suites by name (TLS_AES_128_GCM_SHA256) in the same ' +
          "list (default Node's, which leaves out the weak ones).",
      }),
    ),
    ecdh_curves: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Key exchange groups, colon-separated, most preferred first, e.g. `X25519:P-256` (default OpenSSL's).",
      }),
    ),
    client_certificates: Type.Optional(ClientCertificatesSchema),
    ocsp_stapling: Type.Optional(OcspStaplingSchema),
    session_ticket_key: Type.Optional(
      FilePath(
        'File of the key that seals TLS session tickets: 48 random bytes in base64 (`openssl rand -base64 48`). ' +
          'Every gateway that reads the same key resumes the sessions of the others, so a client behind a load ' +
          'balancer skips the full handshake on whichever instance it reaches. Without it each gateway makes its ' +
          'own key at start (its workers share it). A new key applies on reload or when the file changes; ' +
          'tickets sealed with the old one then get a full handshake.',
      ),
    ),
    handshake_timeout_ms: Type.Integer({
      minimum: 100,
      default: 10000,
      description:
        'A client must finish the TLS handshake within this, or the connection is closed (default 10000). ' +
        'Read when the listener or stream starts: at start, or when a reload adds, moves or replaces it (the ' +
        "admin listener's at start); a reload that only changes it logs that it waits for that.",
    }),
  },
  { additionalProperties: false },
);

const RedirectSchema = Type.Object(
  {
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 443,
      description: 'Port of the https:// URL every request is sent to; 443 leaves it out of the URL (default 443).',
    }),
    status: Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308)], {
      default: 308,
      description:
        'Redirect status; 308 and 307 keep the method and body, 301 and 302 let clients turn POST into GET ' +
        '(default 308).',
    }),
  },
  { additionalProperties: false },
);

const HstsSchema = Type.Object(
  {
    max_age_s: Type.Integer({
      minimum: 0,
      default: 31536000,
      description:
        'How long browsers keep to https for the host; 0 tells them to forget it (default 31536000, a year).',
    }),
    include_subdomains: Type.Boolean({ default: false, description: 'Also for every subdomain (default false).' }),
    preload: Type.Boolean({
      default: false,
      description: "Ask to be on the browsers' preload list; needs include_subdomains and a year (default false).",
    }),
  },
  { additionalProperties: false },
);

const Http2Schema = Type.Object(
  {
    max_concurrent_streams: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 128,
      description: 'Streams one HTTP/2 connection may have open at once; more are refused (default 128).',
    }),
    max_header_list_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1048576,
      default: 16384,
      description:
        'Largest header list (names, values and 32 bytes each, RFC 9113) a client may send; a larger one gets 431 ' +
        '(default 16384, like proxy.max_header_bytes).',
    }),
    initial_window_bytes: Type.Integer({
      minimum: 65535,
      maximum: 2147483647,
      default: 1048576,
      description:
        'Flow-control window of each stream the client sends on: how much of a request body may arrive before the ' +
        'gateway has passed it on (default 1048576).',
    }),
    max_session_memory_mb: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 64,
      description:
        'Memory one connection may hold in unsent frames and headers before new streams on it are refused ' +
        "(Node's maxSessionMemory, 10 by default there, refused streams under load) (default 64). Read when the " +
        'listener starts, as tls.handshake_timeout_ms is.',
    }),
    ping_timeout_ms: Type.Integer({
      minimum: 1,
      default: 20000,
      description:
        'A connection with streams open that has been quiet for proxy.keep_alive_ms is not idle (a gRPC stream ' +
        'waiting for its next message) and is not closed: it is sent a PING, and a client that does not answer ' +
        'within this is taken as gone, its connection closed and its requests ended (default 20000).',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'HTTP/2 limits. A reload applies the SETTINGS (streams, header list, window) to the connections made after it ' +
      'and the ping timeout to sessions begun after it; connections already open keep theirs.',
  },
);

export const ListenerSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description:
        "Unique listener name, used in metrics, logs and access events; not `proxy`, the name of proxy.listen's " +
        'listener, nor `admin` with admin.tls set (the admin listener is then in the TLS metrics).',
    }),
    listen: Type.String({
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
      description:
        'Address, host:port. A reload that changes it moves the listener: it accepts at the old address until it ' +
        "listens at the new one; the old address's connections then end once they have answered.",
    }),
    protocols: Type.Optional(
      Type.Array(Type.Union([Type.Literal('http/1.1'), Type.Literal('h2'), Type.Literal('h2c')]), {
        minItems: 1,
        description:
          'What clients may speak: `http/1.1`; `h2`, HTTP/2 over TLS, chosen by ALPN (needs `tls`); `h2c`, ' +
          'cleartext HTTP/2 with prior knowledge (no `tls`), told apart from http/1.1 on the same port by its ' +
          'preface. Default [h2, http/1.1] with tls, [http/1.1] without. A reload that changes them replaces the ' +
          'listener: the old one stops, its connections end once they have answered, and a new one starts.',
      }),
    ),
    tls: Type.Optional(ListenerTlsSchema),
    redirect_https: Type.Optional(
      Type.Object(RedirectSchema.properties, {
        additionalProperties: false,
        description: 'Only without tls: every request is answered with a redirect to the same URL over https.',
      }),
    ),
    hsts: Type.Optional(
      Type.Object(HstsSchema.properties, {
        additionalProperties: false,
        description: 'Only with tls: every response carries Strict-Transport-Security.',
      }),
    ),
    max_connections: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Client connections this listener keeps open at once per proxy process (WebSocket tunnels and HTTP/2 ' +
          'connections count one each); one more is closed as soon as it is accepted and counted in ' +
          'tollgate_client_connections_dropped_total. 0 = no limit (default proxy.max_connections). A new value ' +
          'applies to the connections accepted after the reload.',
      }),
    ),
    max_connections_per_ip: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Connections one client address may hold open on this listener at once per proxy process (the PROXY ' +
          "header's address behind a balancer that sends one); one more is closed before its first byte or TLS " +
          'handshake, counted as max_connections_per_ip. 0 = no limit (default 0).',
      }),
    ),
    ipv6_prefix: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 128,
        description:
          'For max_connections_per_ip: IPv6 clients count by the first this many bits of their address (64: the ' +
          '/64 one host or site is commonly given), so that one cannot open more by using more addresses; IPv4 ' +
          'addresses count each (default 128: each IPv6 address).',
      }),
    ),
    connections_per_s: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'New connections this listener accepts per second per proxy process (a token bucket holding a ' +
          "second's worth), so a flood of connection attempts or TLS handshakes cannot take the CPU; more are " +
          'closed at once, counted as rate_limited. 0 = no limit (default 0). Their values follow reloads; turning ' +
          'either limit on from 0, or both off, replaces the listener, as a change of `protocols` does.',
      }),
    ),
    http2: Http2Schema,
    proxy_protocol: Type.Optional(
      Type.Object(
        {
          accept: Type.Boolean({
            default: false,
            description:
              'Every connection starts with a PROXY protocol header (v1 or v2) from a load balancer in front, ' +
              'whose client address is then the client of every request on it (IP lists, limits, ' +
              'X-Forwarded-For, access events); only peers in `trusted_proxies` may send one, others are closed ' +
              '(default false). A reload that changes it replaces the listener, as a change of `protocols` does.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ListenersSchema = Type.Array(ListenerSchema, {
  default: [],
  maxItems: 64,
  description:
    'Listeners beside `proxy.listen` (which stays a plain HTTP/1.1 listener): TLS with SNI, HTTP/2 and h2c. Every ' +
    'request goes through the same routes and stages, whichever listener took it.',
});

export type ListenerConfig = Static<typeof ListenerSchema>;
export type Http2Config = Static<typeof Http2Schema>;
export type ListenerTlsConfig = Static<typeof ListenerTlsSchema>;
