/**
 * Returns a copy of a string that shares no memory with the request it came from. V8 keeps a value parsed out
 * of a body or header as a slice that keeps the whole body or header alive, so copy it before keeping it.
 */
export function detachedCopy(value: string): string {
  return Buffer.from(value, 'utf16le').toString('utf16le');
}
