// When a limit lifts, from the words a CLI shows for it. The CLIs write it several ways:
//   codex        "… or try again at 9:24 PM."  /  "try again at Dec 8th, 2026 9:24 PM."
//   Claude Code  "You've hit your limit · resets 3pm (Europe/Berlin)"  /  "Try again after 15:59:02"
//   retry lines  "retrying in 8s"  /  "Please try again in 2s"  /  "try again in 6m0s"
// A time of day is the next such time after `now` (a few minutes back still counts: the limit has
// just lifted), in the zone the text names, else the daemon's own; one to the minute is the end of
// that minute (the CLIs drop the seconds; waking a few seconds late beats hitting the limit again).

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** Minutes a time zone is ahead of UTC at `at` (0 for a zone Intl does not know). */
function zoneOffsetMinutes(zone: string, at: number): number {
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }).formatToParts(new Date(at));
    const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    return Math.round((Date.UTC(n("year"), n("month") - 1, n("day"), n("hour"), n("minute"), n("second")) - at) / 60_000);
  } catch {
    return 0;
  }
}

/** `y-m-d h:m:s` as a wall clock in `zone` (null = the daemon's zone) → ms since the epoch. */
function wallClock(y: number, mo: number, d: number, h: number, mi: number, s: number, zone: string | null): number {
  if (zone === null) return new Date(y, mo, d, h, mi, s).getTime();
  const guess = Date.UTC(y, mo, d, h, mi, s);
  return guess - zoneOffsetMinutes(zone, guess) * 60_000;
}

/** The calendar date of `at` as seen in `zone` (null = the daemon's zone). */
function dateIn(at: number, zone: string | null): { y: number; mo: number; d: number } {
  if (zone === null) {
    const t = new Date(at);
    return { y: t.getFullYear(), mo: t.getMonth(), d: t.getDate() };
  }
  const t = new Date(at + zoneOffsetMinutes(zone, at) * 60_000);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth(), d: t.getUTCDate() };
}

/** A zone named in the text ("(Europe/Berlin)", "(UTC)", " UTC") that Intl knows; null = the daemon's zone. */
function zoneIn(text: string): string | null {
  const m = /\(([A-Za-z_]+(?:\/[A-Za-z_+-]+)+|UTC|GMT)\)|\b(UTC|GMT)\b/.exec(text);
  const z = m?.[1] ?? m?.[2] ?? null;
  if (z === null) return null;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: z });
    return z;
  } catch {
    return null;
  }
}

/** "6m0s", "2s", "1h30m", "8 seconds", "5 minutes" → ms; null when it is no duration. */
function durationMs(text: string): number | null {
  const compact = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (compact && (compact[1] || compact[2] || compact[3])) return (Number(compact[1] ?? 0) * 3600 + Number(compact[2] ?? 0) * 60 + Number(compact[3] ?? 0)) * 1000;
  const words = /^(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?)$/i.exec(text);
  if (!words) return null;
  const unit = words[2]!.toLowerCase();
  return Number(words[1]) * (unit.startsWith("h") ? 3_600_000 : unit.startsWith("m") ? 60_000 : 1000);
}

const CLOCK = String.raw`(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?`;
const DATE = String.raw`(?:([A-Z][a-z]{2})[a-z]*\.? (\d{1,2})(?:st|nd|rd|th)?,?(?: (\d{4}))?,?(?: at)? )?`;
const AT = new RegExp(String.raw`(?:try again (?:at|after)|resets?(?: at| on)?|reset at|available (?:again )?at)\s+${DATE}${CLOCK}(?![\d:])`, "i");
const IN = /(?:retrying in|try again in|resets? in|retry after)\s+(\d+(?:\.\d+)?\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)\b|(?:\d+h)?(?:\d+m(?!s))?(?:\d+(?:\.\d+)?s)?\b)/i;

/**
 * When the limit the text speaks of lifts (ms since the epoch), or null when it names no time.
 * A clock without am/pm and without minutes ("resets 3") is not taken for a time.
 */
export function resetTimeFrom(text: string, now: number = Date.now()): number | null {
  const at = AT.exec(text);
  if (at) {
    const [, mon, day, year, hh, mm, ss, ampm] = at;
    let h = Number(hh);
    if (ampm || mm !== undefined) {
      if (ampm) {
        const pm = ampm.toLowerCase().startsWith("p");
        if (h < 1 || h > 12) return null;
        h = (h % 12) + (pm ? 12 : 0);
      }
      if (h > 23) return null;
      const mi = Number(mm ?? 0);
      // A time to the minute ("try again at 9:24 PM") is taken as the end of that minute: the CLI dropped the seconds.
      const s = ss === undefined ? 59 : Number(ss);
      const zone = zoneIn(text.slice(at.index));
      const monthIndex = mon ? MONTHS.indexOf(mon.toLowerCase()) : -1;
      if (monthIndex >= 0 && day) {
        const today = dateIn(now, zone);
        let y = year ? Number(year) : today.y;
        let t = wallClock(y, monthIndex, Number(day), h, mi, s, zone);
        if (!year && t < now - 180 * 86_400_000) t = wallClock(++y, monthIndex, Number(day), h, mi, s, zone);
        return t;
      }
      const today = dateIn(now, zone);
      let t = wallClock(today.y, today.mo, today.d, h, mi, s, zone);
      // Already past by more than a few minutes: the next day's.
      if (t < now - 5 * 60_000) t = wallClock(today.y, today.mo, today.d + 1, h, mi, s, zone);
      return t;
    }
  }
  const inMatch = IN.exec(text);
  const ms = inMatch?.[1] ? durationMs(inMatch[1].trim()) : null;
  return ms === null ? null : now + ms;
}
