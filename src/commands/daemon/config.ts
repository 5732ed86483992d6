import { defineCommand } from "citty";
import { withExamples } from "../_help.ts";
import { flattenConfig, loadConfig } from "../../config/load.ts";
import { maskConfigValue } from "../../config/secrets.ts";
import { guard, print, printJson } from "../_util.ts";

export default withExamples(defineCommand({
  meta: {
    name: "config",
    description: "Print the effective daemon config and where each value comes from (file or default); secrets are masked"  },
  args: {
    config: { type: "string", description: "path to daemon TOML config file (default: ~/.config/kasmos/daemon.toml)", valueHint: "path" },
    json: { type: "boolean", description: "print JSON: {path, file_exists, config, sources, warnings}" },
  },
  async run({ args }) {
    await guard(() => {
      const loaded = loadConfig(args.config);
      if (args.json) {
        return printJson({ path: loaded.path, file_exists: loaded.fileExists, config: maskConfigValue("", loaded.config), sources: loaded.sources, warnings: loaded.warnings });
      }
      const flat = flattenConfig(loaded.config);
      const width = Math.max(...Object.keys(flat).map((k) => k.length));
      const lines = [`# ${loaded.path}${loaded.fileExists ? "" : " (not found: embedded defaults)"}`];
      for (const [k, val] of Object.entries(flat)) {
        const src = loaded.sources[k] === "file" ? "file" : "default";
        lines.push(`${k.padEnd(width)} = ${JSON.stringify(maskConfigValue(k, val))}  # ${src}`);
      }
      for (const w of loaded.warnings) lines.push(`warning: ${w}`);
      print(`${lines.join("\n")}\n`);
    });
  },
}), ["kas daemon config", "kas daemon config --json", "kas daemon config --config /etc/kasmos/daemon.toml"]);
