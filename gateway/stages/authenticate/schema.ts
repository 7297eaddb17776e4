import Type from 'typebox';

export const AuthSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'Authentication (stub).' }));
