/**
 * What the runner does with each line a step prints (actions/runner
 * src/Runner.Worker/ActionCommandManager.cs): `::add-mask::value` registers a secret and is not
 * shown; `::stop-commands::token` turns command processing off until a line `::token::`; every line
 * shown has each registered secret replaced by `***` (SecretMasker). Other commands (`::error::`,
 * `::warning::`, …) are shown as they are, masked.
 */
export class OutputFilter {
  private readonly secrets = new Set<string>();
  private stopToken: string | undefined;

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.addSecret(secret);
  }

  addSecret(value: string): void {
    // The runner masks a multi-line secret line by line as well as whole.
    for (const part of [value, ...value.split(/\r?\n/)]) if (part.trim()) this.secrets.add(part);
  }

  /**
   * The line as the log shows it (undefined for a command the log does not show), and whether the
   * runner obeys it as a workflow command (false for any line between stop-commands and its token).
   */
  line(raw: string): { text: string; command: boolean } | undefined {
    const command = /^::([a-zA-Z-]+)(?: [^:]*)?::(.*)$/.exec(raw.trimStart());
    if (this.stopToken !== undefined) {
      if (raw.trim() === `::${this.stopToken}::`) this.stopToken = undefined;
      return { text: this.mask(raw), command: false };
    }
    if (command?.[1] === 'add-mask') {
      this.addSecret(command[2]!);
      return undefined;
    }
    if (command?.[1] === 'stop-commands') this.stopToken = command[2];
    return { text: this.mask(raw), command: Boolean(command) };
  }

  mask(text: string): string {
    let masked = text;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      masked = masked.split(secret).join('***');
    return masked;
  }
}
