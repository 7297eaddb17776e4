import Type from 'typebox';

export const TrustedProxiesSchema = Type.Array(Type.String({ minLength: 1 }), {
  default: [],
  description:
    'Proxies (CIDRs or addresses, IPv4/IPv6) whose X-Forwarded-For is believed, ' +
    'walked right to left past trusted hops; empty = never believe it (default []).',
});
