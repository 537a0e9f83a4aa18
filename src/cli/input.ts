import { CommandError } from './errors.js';

/** Upper bound on what is read from a pipe, so that a wrong redirect cannot fill memory. */
const MAX_INPUT_BYTES = 64 * 1024;

/**
 * Reads a password or secret from stdin. From a pipe it reads everything up to end of input and strips one
 * trailing line break (`\n` or `\r\n`), so `echo "$SECRET" |` and `printf %s "$SECRET" |` give the same value.
 * From a terminal it prompts on stderr and reads one line without echoing it.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (process.stdin.isTTY) return readHiddenLine(prompt);
  const raw = await readPipe();
  return raw.endsWith('\r\n') ? raw.slice(0, -2) : raw.endsWith('\n') ? raw.slice(0, -1) : raw;
}

async function readPipe(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) {
      process.stdin.destroy();
      throw new CommandError(`stdin is larger than ${MAX_INPUT_BYTES / 1024} KiB; send only the secret`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal in raw mode, so that the typed characters are not shown. */
function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();

  return new Promise((resolve, reject) => {
    let characters: string[] = [];
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(characters.join(''));
    };
    const onData = (chunk: string): void => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n' || character === '\u0004') return finish();
        if (character === '\u0003') return finish(new CommandError('input cancelled with Ctrl-C'));
        if (character === '\u007f' || character === '\b') characters = characters.slice(0, -1);
        else characters.push(character);
      }
    };
    stdin.on('data', onData);
  });
}
