import { invalidRequest } from './errors.js';
import { redactCredentials } from '../http/redaction.js';

/** Request parameters after the checks every OAuth endpoint shares: one string value per name. */
export type Parameters = Readonly<Record<string, string | undefined>>;

/**
 * Turns a parsed form or JSON body into parameters. RFC 6749 §3.2 rules apply: a parameter must not be
 * repeated, and one sent without a value counts as omitted. JSON values must be strings, like form values.
 */
export function readParameters(body: unknown, json = false): Parameters {
  if (body === undefined || body === null || body === '') {
    throw invalidRequest('The request body is empty; send the parameters as application/x-www-form-urlencoded or JSON.');
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalidRequest('The request body must be a JSON object or a form; got a JSON ' + (Array.isArray(body) ? 'array' : typeof body) + '.');
  }
  const parameters: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value) && !json) throw invalidRequest(`The parameter ${printable(name)} is repeated; send it once.`);
    if (typeof value !== 'string') throw invalidRequest(`The parameter ${printable(name)} must be a string.`);
    if (value.includes('\u0000') || name.includes('\u0000')) throw invalidRequest(`The parameter ${printable(name)} contains a NUL character.`);
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

/**
 * Quotes a client-supplied value for an error description: cut short, printable ASCII only, and with any
 * credential-looking value masked, because descriptions also reach the log.
 */
export function printable(name: string): string {
  const clean = redactCredentials(name).replace(/[^\x20-\x7e]/g, '?');
  return `'${clean.length > 40 ? `${clean.slice(0, 40)}...` : clean}'`;
}
