import Type from 'typebox';

export const TrustedProxiesSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Trusted proxies (stub).' }));
