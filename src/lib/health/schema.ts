import { Ajv } from 'ajv';
import schema from '../../../schemas/extended-health.schema.json' with { type: 'json' };

export { schema as extendedHealthSchema };

const validate = new Ajv({ allErrors: true }).compile(schema);

/**
 * Checks a document against the extended-health schema. Returns the problems, each naming the field
 * ("/tools/status/ck-search must be equal to one of the allowed values"), or [] when it conforms.
 */
export function extendedHealthProblems(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath || '(document)';
    const allowed =
      e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : '';
    return `${where} ${e.message ?? 'is invalid'}${allowed}`;
  });
}
