import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS, type Overrides, type SettingName } from '../config/config.js';
import { HelpRequested, UsageError } from './errors.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The `--database-url` option, which every command accepts in place of KIWIFORM_DATABASE_URL. */
export const DATABASE_URL_OPTION = { 'database-url': { type: 'string' } } as const;

/** Returns the parseArgs options for the given settings, each a string option named after its flag. */
export function settingOptions(names: readonly SettingName[]): Record<string, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [SETTINGS[name].flag.slice(2), { type: 'string' } as const]));
}

/** Collects the setting flags present in parsed values, keyed by setting name, for loadConfig. */
export function overridesFrom(values: Readonly<Record<string, unknown>>, names: readonly SettingName[]): Overrides {
  const overrides: Overrides = {};
  for (const name of names) {
    const value = values[SETTINGS[name].flag.slice(2)];
    if (typeof value === 'string') overrides[name] = value;
  }
  return overrides;
}

/**
 * Parses the options of one command strictly: no positional arguments, no unknown options, and no option given
 * twice unless it is declared `multiple`. Throws HelpRequested for `--help`/`-h` and UsageError otherwise.
 */
export function parseOptions<const O extends OptionsConfig>(command: string, args: readonly string[], options: O) {
  return parseStrictly(command, args, options, false).values;
}

/**
 * Parses a command that takes exactly one client id before or after its options, as in `clients show ID`, with
 * the same strict rules as parseOptions. An id that starts with "-" goes after `--`.
 */
export function parseOptionsWithClientId<const O extends OptionsConfig>(command: string, args: readonly string[], options: O) {
  const parsed = parseStrictly(command, args, options, true);
  const [clientId, extra] = parsed.positionals;
  if (clientId === undefined) {
    throw new UsageError(`"kiwiform ${command}" needs a client id; write kiwiform ${command} CLIENT_ID (see "kiwiform clients list")`);
  }
  if (extra !== undefined) {
    throw new UsageError(
      `unexpected argument "${extra}" for "kiwiform ${command}"; give one client id, and put values after their option, as in --name VALUE`);
  }
  return { clientId, values: parsed.values };
}

function parseStrictly<const O extends OptionsConfig>(
  command: string, args: readonly string[], options: O, allowPositionals: boolean,
) {
  const end = args.indexOf('--');
  if ((end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) {
    throw new HelpRequested();
  }

  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals, tokens: true });
  } catch (error) {
    throw translateParseError(command, error);
  }

  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once; give it once`);
    seen.add(token.name);
  }
  return parsed;
}

/** Rewrites a parseArgs error as one line that names the argument and the fix. */
function translateParseError(command: string, error: unknown): Error {
  if (!(error instanceof Error) || !('code' in error)) return error instanceof Error ? error : new Error(String(error));
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const option = quoted.split(' ')[0] ?? quoted;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${option} for "kiwiform ${command}"; run "kiwiform help" for the options`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(
        `unexpected argument "${quoted}" for "kiwiform ${command}"; values follow their option, as in --name VALUE`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('does not take an argument')) {
        return new UsageError(`${option} takes no value; give it alone`);
      }
      if (error.message.includes('ambiguous')) {
        return new UsageError(`${option} is missing its value; to pass a value that starts with "-", write ${option}=VALUE`);
      }
      return new UsageError(`${option} is missing its value; write ${option} VALUE`);
    default:
      return error;
  }
}
