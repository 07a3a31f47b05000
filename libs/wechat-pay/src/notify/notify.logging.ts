const MAX_LOGGED_CHARS = 200;

/** Caps text taken from a request or an error before it reaches a log line. */
export function shorten(text: string): string {
  return text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}...` : text;
}

/** One short line for a caught error: its name and message, never a stack or a body dump. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return shorten(`${error.name}: ${error.message}`);
  return typeof error === 'string' ? shorten(error) : 'a non-Error value was thrown';
}
