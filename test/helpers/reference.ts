// The independent answer for requests a real producer logged: elements computed with Intl and
// PFADDed into a real Redis, whose PFCOUNTs are what loghour must report.
import type { RedisServer } from './redis.js'

/** `YYYY-MM-DD HH` and ISO weekday (1 = Monday) of an instant on a zone's clock, by Intl. */
export function wallHour(utcMs: number, zone: string): { dateHour: string; weekday: number } {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    weekday: 'short',
  })
  const p = Object.fromEntries(f.formatToParts(new Date(utcMs)).map((x) => [x.type, x.value]))
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday!) + 1
  return { dateHour: `${p.year}-${p.month}-${p.day} ${p.hour}`, weekday }
}

/** A logged request with the date, hour and weekday it counts under. */
export interface PlacedRequest {
  ip: string
  status: number
  dateHour: string
  weekday: number
}

/** PFCOUNT per hour after PFADD of the elements of the working-day 5xx requests, under `prefix`. */
export async function referenceCounts(redis: RedisServer, prefix: string, requests: PlacedRequest[]): Promise<number[]> {
  const client = redis.client()
  for (const r of requests) {
    if (r.status >= 500 && r.weekday <= 5) await client.pfadd(`${prefix}${Number(r.dateHour.slice(11))}`, `${r.dateHour}_${r.ip}`)
  }
  const counts = await Promise.all(Array.from({ length: 24 }, (_, h) => client.pfcount(`${prefix}${h}`)))
  await client.quit()
  return counts
}

/** {@link referenceCounts} of requests logged at UTC instants, placed on `zone`'s clock. */
export function zonedReferenceCounts(
  redis: RedisServer,
  prefix: string,
  requests: { utcMs: number; ip: string; status: number }[],
  zone: string,
): Promise<number[]> {
  return referenceCounts(
    redis,
    prefix,
    requests.map((r) => ({ ...r, ...wallHour(r.utcMs, zone) })),
  )
}
