// The counting rule as a straightforward Node port would write it, shared by the baselines:
// [hour, element] for a counted line, null otherwise.
export function element(line) {
  let record
  try {
    record = JSON.parse(line)
  } catch {
    return null
  }
  const { time, ip, status_code: status } = record ?? {}
  if (typeof time !== 'string' || typeof ip !== 'string' || !Number.isInteger(status)) return null
  if (status < 500 || status > 599) return null
  const day = new Date(`${time.slice(0, 10)}T00:00:00Z`).getUTCDay()
  if (day === 0 || day === 6) return null
  return [Number(time.slice(11, 13)), `${time.slice(0, 10)} ${time.slice(11, 13)}_${ip}`]
}
