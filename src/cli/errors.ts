/** A command-line argument that cannot be used. The CLI prints the message as one line and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the operator can act on, such as an email that is already registered. Exit status 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Thrown when `--help` or `-h` appears among a command's arguments, so that the usage text is printed. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

/** Builds the error for a client id that no client has. */
export function clientNotFound(clientId: string): CommandError {
  return new CommandError(`client ${JSON.stringify(clientId)} not found; run "kiwiform clients list" for the registered ids`);
}
