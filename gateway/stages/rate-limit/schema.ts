import Type from 'typebox';

export const RateLimitsSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Rate limits (stub).' }));

export const RateLimitStoreSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Shared rate-limit state (stub).' }));
