/**
 * Whether JSON.parse(JSON.stringify(value)) gives back `value` exactly
 * (util.isDeepStrictEqual): plain objects and arrays of finite numbers,
 * strings, booleans and null. A config from YAML can hold what JSON cannot
 * (`.inf`, `.nan`); the config worker then sends the object itself. For
 * 5,000 services this walk takes a fraction of the ~100 ms that parsing the
 * JSON back and comparing took.
 */
export function jsonExact(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // -0 comes back as 0.
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        // A hole, like undefined, comes back as null.
        for (let i = 0; i < value.length; i++) if (!jsonExact(value[i])) return false;
        return Object.getPrototypeOf(value) === Array.prototype;
      }
      // A Date, a Map or an object without a prototype comes back as something else.
      if (Object.getPrototypeOf(value) !== Object.prototype || Object.getOwnPropertySymbols(value).length > 0)
        return false;
      const record = value as Record<string, unknown>;
      if (typeof record.toJSON === 'function') return false;
      for (const key in record) if (Object.hasOwn(record, key) && !jsonExact(record[key])) return false;
      return true;
    }
    default:
      // undefined (dropped, or null in an array), functions, symbols and bigints.
      return false;
  }
}
