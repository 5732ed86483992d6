// The page's calls: the same control API routes the CLI uses, same origin, the session cookie attached.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers: init.body !== undefined ? { "content-type": "application/json" } : {},
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const msg = data && typeof data === "object" && "error" in data ? String((data as { error: unknown }).error) : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

/** The fields of an event (an audit row, GET /v1/events) the page shows. */
export interface StreamedEvent {
  kind: string;
  level: string;
  project: string;
  task: string;
  message: string;
  timestamp: string;
}

export type StreamState = "live" | "reconnecting" | "logged-out";

/**
 * Follow GET /v1/events (server-sent events) with fetch rather than EventSource: every audit kind is
 * its own SSE event name, which EventSource would make us list one by one. Reconnects after a second
 * with Last-Event-ID, so nothing is missed; `onEvent(null)` after each (re)connect means "resync".
 */
export async function followEvents(onEvent: (e: StreamedEvent | null) => void, onState: (s: StreamState) => void): Promise<void> {
  let last: string | null = null;
  for (;;) {
    try {
      const res = await fetch("/v1/events", { headers: last !== null ? { "last-event-id": last } : {} });
      if (res.status === 401) return onState("logged-out");
      if (!res.ok || !res.body) throw new Error(`${res.status}`);
      onState("live");
      onEvent(null);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end = buf.indexOf("\n\n");
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) last = line.slice(4);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data !== "") onEvent(JSON.parse(data) as StreamedEvent);
          end = buf.indexOf("\n\n");
        }
      }
    } catch {
      // connection lost: retried below
    }
    onState("reconnecting");
    await new Promise((r) => setTimeout(r, 1000));
  }
}
