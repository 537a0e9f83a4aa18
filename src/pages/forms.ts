import { PageError, malformedForm } from './errors.js';

/** Fields of a submitted form or of a page's query: one string per name, empty values counted as missing. */
export type FormFields = Readonly<Record<string, string | undefined>>;

/**
 * Returns whether text contains a NUL character. No form or link of these pages sends one, and PostgreSQL
 * rejects it in text columns, so such input is rejected before it reaches the database.
 */
export function containsNul(text: string): boolean {
  return text.includes('\u0000');
}

/**
 * Reads a parsed application/x-www-form-urlencoded body. A repeated field parses as an array and is rejected,
 * because an ordinary form sends each of our fields once. A name or value with a NUL character is rejected
 * too. Only own properties count.
 */
export function readForm(body: unknown): FormFields {
  if (body === undefined || body === null) throw malformedForm('The form arrived empty.');
  if (typeof body !== 'object' || Array.isArray(body)) throw malformedForm('The form is malformed.');
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw malformedForm('A field of the form was sent more than once.');
    if (containsNul(name) || containsNul(value)) throw malformedForm('A field of the form contains a NUL character.');
    if (value !== '') fields[name] = value;
  }
  return fields;
}

/**
 * Reads the parsed query of a page. A repeated parameter counts as missing, because no link of these pages
 * repeats one. A name or value with a NUL character gets the 400 page.
 */
export function readQuery(query: unknown): FormFields {
  const fields: Record<string, string> = Object.create(null);
  if (typeof query !== 'object' || query === null) return fields;
  for (const [name, value] of Object.entries(query)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (containsNul(name) || values.some((item) => typeof item === 'string' && containsNul(item))) {
      throw new PageError(400, 'This link is not valid', 'The link contains a character that is not allowed (a NUL character). Check the link and try again.');
    }
    if (typeof value === 'string' && value !== '') fields[name] = value;
  }
  return fields;
}
