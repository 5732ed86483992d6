// Help text with examples: citty's usage renderer plus an "EXAMPLES" section kept beside each command.
import { print } from "./_util.ts";
import { type ArgsDef, type CommandDef, renderUsage } from "citty";

const EXAMPLES = new WeakMap<object, string[]>();

/** Attach usage examples to a command (shown by `--help` under EXAMPLES). */
export function withExamples<T extends object>(cmd: T, examples: string[]): T {
  EXAMPLES.set(cmd, examples);
  return cmd;
}

export async function showUsage<T extends ArgsDef = ArgsDef>(cmd: CommandDef<T>, parent?: CommandDef<T>): Promise<void> {
  let text = await renderUsage(cmd, parent);
  const ex = EXAMPLES.get(cmd);
  if (ex && ex.length > 0) text += `\n\nEXAMPLES\n\n${ex.map((e) => `  ${e}`).join("\n")}`;
  print(`${text}\n\n`);
}
