import Type from 'typebox';

export const AclSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'IP allow/deny lists (stub).' }));
