import Type from 'typebox';

export const CanarySchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Canary release (stub).' }));
