// The Agent page's script (/agent/<repo>/<title>), a bundle of its own: xterm.js is most of its
// weight, and no other page needs it.
import { AgentPage } from "./agent.ts";
import { runPage } from "./shell.ts";

const [, , project = "", title = ""] = location.pathname.split("/").map(decodeURIComponent);
runPage(new AgentPage(document.getElementById("app")!, project, title));
