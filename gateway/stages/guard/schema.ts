import Type from 'typebox';

export const GuardSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Injection guard (stub).' }));
