import Type from 'typebox';

export const AclSchema = Type.Optional(
  Type.Object(
    {
      allow: Type.Array(Type.String({ minLength: 1 }), {
        default: [],
        description: 'Client CIDRs or addresses (IPv4/IPv6) allowed; empty = any (default []).',
      }),
      deny: Type.Array(Type.String({ minLength: 1 }), {
        default: [],
        description: 'Client CIDRs or addresses refused with 403; deny wins over allow (default []).',
      }),
    },
    {
      additionalProperties: false,
      description: 'IP allow / deny lists for the client address (after trusted_proxies); absent = no list.',
    },
  ),
);
