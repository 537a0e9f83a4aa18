import { invalidRequest } from './errors.js';

/** Request parameters after the checks every OAuth endpoint shares: one string value per name. */
export type Parameters = Readonly<Record<string, string | undefined>>;

/**
 * Turns a parsed form or JSON body into parameters. RFC 6749 §3.2 rules apply: a parameter must not be
 * repeated, and one sent without a value counts as omitted. JSON values must be strings, like form values.
 */
export function readParameters(body: unknown): Parameters {
  if (body === undefined || body === null || body === '') {
    throw invalidRequest('The request body is empty; send the parameters as application/x-www-form-urlencoded or JSON.');
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object or a form; got a JSON ' + (Array.isArray(body) ? 'array' : typeof body) + '.');
  }
  const parameters: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw invalidRequest(`The parameter ${printable(name)} is repeated; send it once.`);
    if (typeof value !== 'string') throw invalidRequest(`The parameter ${printable(name)} must be a string.`);
    if (value !== '') parameters[name] = value;
  }
  return parameters;
}

/** Returns the named parameter or throws invalid_request naming it. */
export function required(parameters: Parameters, name: string): string {
  const value = parameters[name];
  if (value === undefined) throw invalidRequest(`The parameter ${name} is missing.`);
  return value;
}

/** Quotes a client-supplied name for an error description, cut short and without control characters. */
export function printable(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean.length > 40 ? clean.slice(0, 40) + '…' : clean);
}
