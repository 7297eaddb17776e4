import Type from 'typebox';

export const TokensSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Token issuing (stub).' }));
