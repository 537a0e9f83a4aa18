import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from '../config/config.js';
import { describeUrl } from '../storage/postgres/postgres-store.js';
import { CommandError, UsageError } from './errors.js';

/** A setting's value with the name to use for it in messages: its flag when given, else its variable. */
export interface SettingValue {
  readonly value: string;
  readonly label: string;
}

/** RFC 1123 §2.1 host name label: letters, digits and inner hyphens, 1 to 63 characters. */
const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_HOSTNAME_LENGTH = 253;

/**
 * Throws UsageError unless `host` is an IPv4 or IPv6 address or a host name, so that a bad listen address is
 * reported under its own name. Otherwise the issuer derived from it would be the first setting to fail.
 * An IPv6 zone index (fe80::1%eth0) cannot appear in a URL, so it needs an explicit issuer.
 */
export function validateHost(host: SettingValue, issuerGiven: boolean): void {
  const quoted = `${host.label} ${JSON.stringify(host.value)}`;
  const version = isIP(host.value);
  if (version !== 0) {
    if (host.value.includes('%') && !issuerGiven) {
      throw new UsageError(`${quoted} has a zone index, which a URL cannot contain; also set --issuer or KIWIFORM_ISSUER to the public URL`);
    }
    return;
  }
  if (/^[0-9.]+$/.test(host.value)) {
    throw new UsageError(`${quoted} is not a valid IPv4 address; use four numbers from 0 to 255, as in 127.0.0.1`);
  }
  if (host.value.includes(':')) {
    throw new UsageError(`${quoted} is not a valid IPv6 address; write it without brackets, as in ::1`);
  }
  const name = host.value.endsWith('.') ? host.value.slice(0, -1) : host.value;
  const labels = name.split('.');
  const lastLabel = labels[labels.length - 1] ?? '';
  // A name whose last label is a number reads as an IPv4 address in a URL, so the issuer could not contain it.
  if (name.length > MAX_HOSTNAME_LENGTH || !labels.every((label) => HOSTNAME_LABEL.test(label)) || /^\d+$/.test(lastLabel)) {
    throw new UsageError(`${quoted} is not a valid host; use an IPv4 or IPv6 address, or a host name of letters, digits, hyphens and dots`);
  }
}

/** Throws CommandError when a host name does not resolve, naming the setting instead of getaddrinfo. */
export async function requireResolvableHost(host: SettingValue): Promise<void> {
  if (isIP(host.value) !== 0) return;
  try {
    await lookup(host.value);
  } catch (error) {
    throw unresolvableHost(host.value, errorCode(error) ?? 'lookup failed');
  }
}

function unresolvableHost(host: string, code: string): CommandError {
  return new CommandError(
    `host ${JSON.stringify(host)} could not be resolved (${code}); choose an address of this machine with --host or KIWIFORM_HOST, such as 127.0.0.1 or 0.0.0.0`);
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Codes of a database that cannot be reached: the pg client's network errors and SQLite's open errors. */
const UNREACHABLE_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|SQLITE_\w+)$/;
/** A PostgreSQL SQLSTATE, five characters with at least one digit, such as 28P01 (password rejected). */
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/;
/** Messages of the pg pool when connecting times out or the server drops the connection. */
const CONNECT_TIMEOUT = /timeout exceeded when trying to connect|Connection terminated/i;

/**
 * Turns an error that stopped `serve` from starting into one line naming the setting to change and how, or
 * returns undefined for an error it does not recognize. Covers a port in use or not permitted, a listen address
 * that is not on this machine or does not resolve, and a database that cannot be opened. The message shows the
 * database address without its password.
 */
export function explainStartFailure(error: unknown, config: Config): CommandError | undefined {
  const code = errorCode(error);
  const syscall = error instanceof Error && 'syscall' in error ? error.syscall : undefined;
  if (code === 'EADDRINUSE') {
    return new CommandError(`port ${config.port} is already in use on ${config.host}; choose another with --port or KIWIFORM_PORT, or stop the process that holds it`);
  }
  if (code === 'EACCES' && syscall === 'listen') {
    return new CommandError(`permission denied to listen on port ${config.port}; ports below 1024 need extra privileges, so choose another with --port or KIWIFORM_PORT`);
  }
  if (code === 'EADDRNOTAVAIL') {
    return new CommandError(`address ${config.host} does not belong to this machine; choose a local address with --host or KIWIFORM_HOST, such as 127.0.0.1 or 0.0.0.0`);
  }
  const hostname = error instanceof Error && 'hostname' in error ? error.hostname : undefined;
  if ((code === 'ENOTFOUND' || code === 'EAI_AGAIN') && hostname === config.host) return unresolvableHost(config.host, code);

  const message = error instanceof Error ? error.message : '';
  const fromDatabase = (code !== undefined && (UNREACHABLE_CODES.test(code) || SQLSTATE.test(code))) || CONNECT_TIMEOUT.test(message);
  if (!fromDatabase) return undefined;
  const reason = withoutPassword(code !== undefined && !message.includes(code) ? `${code} ${message}` : message, config.databaseUrl);
  // A missing table or column means a schema this build does not know, not an unreachable database.
  if (/no such (table|column)|relation .* does not exist|column .* does not exist/i.test(message)) {
    return new CommandError(
      `the database ${databaseAddress(config.databaseUrl)} has a schema this build does not expect (${reason}); it was made by another version of Kiwiform API, so use a new database file or the version that created it`);
  }
  return new CommandError(
    `cannot open the database ${databaseAddress(config.databaseUrl)} (${reason}); check that it is running and reachable, and that KIWIFORM_DATABASE_URL or --database-url names it with the right user and password`);
}

/** Returns the database URL for a message: a PostgreSQL URL without credentials or query, a SQLite URL as is. */
function databaseAddress(databaseUrl: string): string {
  return databaseUrl.startsWith('sqlite:') ? databaseUrl : describeUrl(databaseUrl);
}

/** Masks the password of a PostgreSQL URL wherever it appears in `text`. */
function withoutPassword(text: string, databaseUrl: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(databaseUrl).password);
  } catch {
    return text;
  }
  return password === '' ? text : text.split(password).join('***');
}
