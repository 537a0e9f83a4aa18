import { loadConfig } from '../config/config.js';
import { generateId, hashPassword } from '../crypto/secrets.js';
import { openStore } from '../storage/open-store.js';
import { DuplicateError } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptions } from './args.js';
import { CommandError, UsageError } from './errors.js';
import { readSecret } from './input.js';
import { normalizeEmail, required, validateName } from './validate.js';

const MIN_PASSWORD_LENGTH = 8;
/** Upper bound on password length, so that hashing a pasted file cannot stall the command or the login page. */
const MAX_PASSWORD_LENGTH = 1024;

/** `kiwiform users create`: hashes the password from stdin with scrypt and stores the user. */
export async function createUser(args: readonly string[]): Promise<void> {
  const values = parseOptions('users create', args, {
    ...DATABASE_URL_OPTION,
    email: { type: 'string' },
    name: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const email = normalizeEmail(required(values.email, '--email', 'you@example.com'));
  const name = values.name ?? email.slice(0, email.indexOf('@'));
  validateName(name, '--name');
  if (values['password-stdin'] !== true) {
    throw new UsageError('--password-stdin is required; pipe the password on stdin, as in: printf %s "$PASSWORD" | kiwiform users create --email EMAIL --password-stdin');
  }
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  const password = await readPassword();
  const passwordHash = await hashPassword(password);
  const id = generateId();

  const store = await openStore(config);
  try {
    await store.users.create({ id, email, name, passwordHash, createdAt: Date.now() });
  } catch (error) {
    if (error instanceof DuplicateError) throw new CommandError(`email ${email} is already registered`);
    throw error;
  } finally {
    await store.close();
  }

  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ id, email, name })}\n`);
  } else {
    process.stdout.write(`Created user ${email} (id ${id}, name ${JSON.stringify(name)}).\n`);
  }
}

/** Reads the password from stdin, asking twice on a terminal so that a typing mistake is caught. */
async function readPassword(): Promise<string> {
  const password = await readSecret('Password: ');
  if (password === '') throw new UsageError('--password-stdin received an empty password; send the password on stdin');
  if (/[\r\n]/.test(password)) {
    throw new UsageError('--password-stdin received more than one line; send the password as a single line');
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`--password-stdin: the password is shorter than ${MIN_PASSWORD_LENGTH} characters; choose a longer one`);
  }
  if ([...password].length > MAX_PASSWORD_LENGTH) {
    throw new UsageError(`--password-stdin: the password is longer than ${MAX_PASSWORD_LENGTH} characters; choose a shorter one`);
  }
  if (process.stdin.isTTY && (await readSecret('Repeat password: ')) !== password) {
    throw new CommandError('the two passwords differ; run the command again');
  }
  return password;
}
