import Type from 'typebox';

export const CorsSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'CORS (stub).' }));
