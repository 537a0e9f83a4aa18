import { malformedForm } from './errors.js';

/** Fields of a submitted form: one string per name, empty values counted as missing. */
export type FormFields = Readonly<Record<string, string | undefined>>;

/**
 * Reads a parsed application/x-www-form-urlencoded body. A repeated field parses as an array and is rejected,
 * because an ordinary form sends each of our fields once. Only own properties count.
 */
export function readForm(body: unknown): FormFields {
  if (body === undefined || body === null) throw malformedForm('The form arrived empty.');
  if (typeof body !== 'object' || Array.isArray(body)) throw malformedForm('The form is malformed.');
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw malformedForm('A field of the form was sent more than once.');
    if (value !== '') fields[name] = value;
  }
  return fields;
}
