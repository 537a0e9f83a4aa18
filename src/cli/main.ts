import { ConfigError } from '../config/config.js';
import { SchemaError } from '../storage/types.js';
import { listAuditEvents } from './audit.js';
import { deleteClient } from './client-delete.js';
import { rotateClientSecret } from './client-secret.js';
import { updateClient } from './client-update.js';
import { createClient, listClients, showClient } from './clients.js';
import { CommandError, HelpRequested, UsageError } from './errors.js';
import { USAGE } from './help.js';
import { migrate } from './migrate.js';
import { purgeExpired } from './purge.js';
import { serve } from './serve.js';
import { createUser } from './users.js';

type Command = (args: readonly string[]) => Promise<void>;

const COMMANDS: Readonly<Record<string, Command>> = {
  serve,
  migrate,
  'users create': createUser,
  'clients create': createClient,
  'clients list': listClients,
  'clients show': showClient,
  'clients update': updateClient,
  'clients rotate-secret': rotateClientSecret,
  'clients delete': deleteClient,
  audit: listAuditEvents,
  purge: purgeExpired,
};

const GROUPS: Readonly<Record<string, readonly string[]>> = {
  users: ['create'],
  clients: ['create', 'list', 'show', 'update', 'rotate-secret', 'delete'],
};

/**
 * Runs the `kiwiform` command line on `argv` (without the node and script paths) and returns the exit status:
 * 0 on success, 1 when the command failed, 2 for an invalid argument or setting. Errors are printed as one line
 * on stderr. `serve` returns once the server listens and keeps the process alive.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [command, args] = selectCommand(argv);
    if (command === undefined) {
      process.stdout.write(USAGE);
      return 0;
    }
    await command(args);
    return 0;
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(USAGE);
      return 0;
    }
    return reportError(error);
  }
}

/** Splits argv into the command to run and its options. The command is undefined when help is requested. */
function selectCommand(argv: readonly string[]): [Command | undefined, readonly string[]] {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') return [undefined, []];

  const subcommands = GROUPS[first];
  if (subcommands !== undefined) {
    if (second === '--help' || second === '-h') return [undefined, []];
    const choices = subcommands.map((name) => `kiwiform ${first} ${name}`).join(', ');
    if (second === undefined) throw new UsageError(`"kiwiform ${first}" needs a subcommand; use one of: ${choices}`);
    if (!subcommands.includes(second)) {
      throw new UsageError(`unknown command "kiwiform ${first} ${second}"; use one of: ${choices}`);
    }
    return [COMMANDS[`${first} ${second}`], argv.slice(2)];
  }

  const command = COMMANDS[first];
  if (command === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}; run "kiwiform help" for the list of commands`);
  }
  return [command, argv.slice(1)];
}

/** Prints an error as one line on stderr and returns the exit status for it. */
function reportError(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`kiwiform: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (error instanceof UsageError || error instanceof ConfigError) return 2;
  if (error instanceof CommandError || error instanceof SchemaError) return 1;

  // An unexpected error may be a bug, so its stack is available on request without cluttering normal output.
  const level = process.env.KIWIFORM_LOG_LEVEL;
  if ((level === 'debug' || level === 'trace') && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return 1;
}
