// Repositories: list, register (`kas daemon add`), unregister (`kas daemon remove`).
import * as v from "valibot";
import { defineRoute, flagParam } from "./route.ts";
import { RepoStatus } from "./status.ts";

export const listRepos = defineRoute({ method: "GET", path: "/v1/repos", summary: "Registered repositories", status: 200, reply: v.array(RepoStatus) });

export const addRepo = defineRoute({
  method: "POST",
  path: "/v1/repos",
  summary: "Register a repository by its absolute path",
  status: 201,
  body: v.object({ path: v.pipe(v.string("path must be a string"), v.minLength(1, "path is required")) }),
  reply: v.strictObject({ status: v.literal("added"), project: v.string(), path: v.string(), warnings: v.array(v.string()) }),
});

export const removeRepo = defineRoute({
  method: "DELETE",
  path: "/v1/repos/:project",
  summary: "Unregister a repository (force: stop its running agents too)",
  status: 200,
  query: v.object({ force: flagParam }),
  reply: v.strictObject({ status: v.literal("removed"), project: v.string(), path: v.string(), agents_stopped: v.number() }),
});

export const trustRepo = defineRoute({
  method: "POST",
  path: "/v1/repos/:project/trust",
  summary: "Approve the repository's .kasmos/config.toml as it is now: the programs it names may run (kas daemon trust)",
  status: 200,
  reply: v.strictObject({
    status: v.picklist(["trusted", "unchanged", "nothing_to_trust"]),
    project: v.string(),
    path: v.string(),
    /** sha256 of the approved file; absent when there was nothing to approve. */
    digest: v.optional(v.string()),
    /** The entries naming programs or their arguments that the approval covers. */
    commands: v.array(v.string()),
    /** Why there was nothing to approve. */
    reason: v.optional(v.string()),
  }),
});
