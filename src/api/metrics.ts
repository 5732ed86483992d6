// GET /v1/metrics: Prometheus text exposition.
import { defineRoute } from "./route.ts";

export const metrics = defineRoute({ method: "GET", path: "/v1/metrics", summary: "Prometheus metrics (text exposition format)", status: 200, reply: "text" });
