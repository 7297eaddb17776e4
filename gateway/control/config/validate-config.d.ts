// Types of validate-config.js, the validator `npm run generate` compiles from tollgate.schema.json.
import type { ErrorObject } from 'ajv';

export interface ConfigValidator {
  /** Fills defaults in place; false with `errors` set when the value breaks the schema. */
  (data: unknown): boolean;
  errors: ErrorObject[] | null;
}

export declare const validate: ConfigValidator;
export default validate;
