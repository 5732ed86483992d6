// At start, the daemon log says which agent CLIs of the config are newer than kasmos was tested with.
import { installedVersion, newerThanTested } from "../agents/cli-version.ts";
import { harnessOf } from "../agents/harness/index.ts";
import type { DaemonConfig } from "../config/schema.ts";
import { cliUses } from "../doctor/agents.ts";
import type { Logger } from "../runtime/log.ts";

export async function logNewerClis(config: DaemonConfig, log: Logger): Promise<void> {
  for (const [name, use] of cliUses(config)) {
    const h = harnessOf(name);
    if (!h.testedVersion) continue;
    const version = await installedVersion(use.path);
    const newer = version ? newerThanTested(h, version) : null;
    if (newer !== null) log.warn(`${newer} (${use.path}; kas doctor checks it too)`);
  }
}
