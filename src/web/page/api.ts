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
  id: number;
  kind: string;
  from_status: string;
  to_status: string;
  level: string;
  project: string;
  task: string;
  message: string;
  timestamp: string;
}

export type StreamState = "live" | "reconnecting" | "logged-out";

/**
 * Follow a server-sent event stream with fetch rather than EventSource: every audit kind is its own
 * SSE event name, which EventSource would make us list one by one. Reconnects after a second with
 * Last-Event-ID, so nothing is missed; `onOpen` runs after each (re)connect.
 */
export async function followSse(path: string, on: { message(name: string, data: string): void; open(): void; state(s: StreamState): void }, until: () => boolean = () => false): Promise<void> {
  let last: string | null = null;
  while (!until()) {
    try {
      const res = await fetch(path, { headers: last !== null ? { "last-event-id": last } : {} });
      if (res.status === 401) return on.state("logged-out");
      if (!res.ok || !res.body) throw new Error(`${res.status}`);
      on.state("live");
      on.open();
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
          let name = "message";
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) last = line.slice(4);
            else if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data !== "") on.message(name, data);
          end = buf.indexOf("\n\n");
        }
      }
    } catch {
      // connection lost: retried below
    }
    if (until()) return;
    on.state("reconnecting");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The audit event stream (GET /v1/events with the page's filters): `onEvent(null)` after each (re)connect means "resync". */
export function followEvents(path: string, onEvent: (e: StreamedEvent | null) => void, onState: (s: StreamState) => void): Promise<void> {
  return followSse(path, { message: (_name, data) => onEvent(JSON.parse(data) as StreamedEvent), open: () => onEvent(null), state: onState });
}

/**
 * `load` run at most once at a time: a call while it runs makes it run once more afterwards (a burst
 * of events costs two loads, not one per event). `failed` gets what a load threw.
 */
export function coalesced(load: () => Promise<void>, failed: (err: Error) => void): () => void {
  let running = false;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } catch (err) {
        failed(err as Error);
      } finally {
        running = false;
      }
    })();
  };
}
