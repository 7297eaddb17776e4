import Type from 'typebox';

export const RbacSchema = Type.Optional(Type.Object({}, { additionalProperties: false, description: 'RBAC (stub).' }));
