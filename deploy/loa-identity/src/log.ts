/** One line per event, prefixed "[loa]" like the start scripts, with a UTC timestamp. */
export function log(message: string): void {
  process.stdout.write(`[loa] ${new Date().toISOString()} ${message}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`[loa] ${new Date().toISOString()} warning: ${message}\n`);
}
