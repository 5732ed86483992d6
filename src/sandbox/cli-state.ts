// What each agent CLI needs of the user's machine inside the sandbox: its own state (logins, sessions,
// settings; read-write, created when missing so the CLI can write) and the variable names it reads
// (its key, base URL, options). Anything else of $HOME stays absent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { claudeConfigDir, claudeStateFile } from "../agents/harness/claude.ts";
import { codexHome } from "../agents/harness/codex.ts";
import { agentHome } from "../agents/harness/util.ts";

export interface CliState {
  /** Folders (and single files, ending in a name with a dot) bound read-write. */
  paths: string[];
  /** Variable names the CLI keeps (exact, or a prefix ending in `*`). */
  env: string[];
}

type Env = Record<string, string | undefined>;

/** codex's provider tables name the variable holding their key (`env_key = "NAME"`): that one is kept too. */
function codexEnvKeys(home: string): string[] {
  let text = "";
  try {
    text = readFileSync(join(home, "config.toml"), "utf8").slice(0, 1024 * 1024);
  } catch {
    return [];
  }
  return [...text.matchAll(/^\s*env_key\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"/gm)].map((m) => m[1]!);
}

function xdg(env: Env, name: string, fallback: string[]): string {
  return env[name]?.trim() || join(agentHome(env), ...fallback);
}

/** The state and variables of the CLI `harness` names (generic CLIs: none beyond the base policy). */
export function cliState(harness: string, env: Env): CliState {
  switch (harness) {
    case "claude":
      return {
        paths: [claudeConfigDir(env) ?? join(agentHome(env), ".claude"), claudeStateFile(env)],
        env: ["ANTHROPIC_*", "CLAUDE_*", "CLAUDECODE", "DISABLE_*", "MAX_THINKING_TOKENS", "MCP_*", "AWS_REGION", "AWS_PROFILE", "GOOGLE_CLOUD_PROJECT", "CLOUD_ML_REGION"],
      };
    case "codex": {
      const home = codexHome(env);
      return { paths: [home], env: ["OPENAI_*", "CODEX_*", "AZURE_OPENAI_*", ...codexEnvKeys(home)] };
    }
    case "opencode":
      return {
        paths: [
          join(xdg(env, "XDG_DATA_HOME", [".local", "share"]), "opencode"),
          join(xdg(env, "XDG_CONFIG_HOME", [".config"]), "opencode"),
          join(xdg(env, "XDG_STATE_HOME", [".local", "state"]), "opencode"),
          join(xdg(env, "XDG_CACHE_HOME", [".cache"]), "opencode"),
        ],
        env: ["OPENCODE*", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", ...opencodeEnvNames(env)],
      };
    default:
      return { paths: [], env: [] };
  }
}

/** opencode.json's `{env:NAME}` references (a provider's key or URL): those names are kept. */
function opencodeEnvNames(env: Env): string[] {
  let text = "";
  try {
    text = readFileSync(join(xdg(env, "XDG_CONFIG_HOME", [".config"]), "opencode", "opencode.json"), "utf8").slice(0, 1024 * 1024);
  } catch {
    return [];
  }
  return [...new Set([...text.matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))];
}
