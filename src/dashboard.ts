// The dashboard page: one self-contained HTML document (inline CSS and JS, no fonts, scripts or
// images from anywhere) that draws the 24 hours from a JSON snapshot embedded in it. The live
// page (GET / of --http) then follows GET /events; `loghour analyze --html` writes the same page
// as a static report. The browser draws both with the same script, so they cannot drift apart.
import { createHash } from 'node:crypto'
import { renderAnswer, renderLines } from './render.js'
import type { InvalidReason, LineCounts, Stats } from './stats.js'

/** What the page shows: the stats object, with what only the live page or the report knows. */
/** With every user counted and with groups, the same fields as the stats object ({@link Stats}). */
type ShareAndGroups = Pick<
  Stats,
  'users' | 'share' | 'shareHour' | 'minUsers' | 'shareError' | 'weekdayUsers' | 'groupBy' | 'groups' | 'groupValues'
>

export interface DashboardData extends ShareAndGroups {
  /** Distinct users per hour, or `null` while the store cannot answer (the page says so). */
  hours: number[] | null
  peakHour: number | null
  /** Users at the peak hour; `null` when the hours are unknown. */
  peakUsers: number | null
  lines: LineCounts
  invalid: Record<InvalidReason, number>
  /** Live: lines read per second since the previous snapshot (`null` for the first one). */
  linesPerSecond?: number | null
  /** Live: the store's kind and whether it receives the changes and answers. */
  store?: { kind: 'memory' | 'redis'; reachable: boolean }
  /** Live: why the hours are unknown. */
  error?: string
  /** Live: when the snapshot was taken (ms since the epoch). */
  at?: number
  /** Report: when it was written (ISO 8601). */
  generatedAt?: string
  /** Report: the inputs read, as named on the command line (`-` is stdin). */
  sources?: string[]
  /** The days the hours (and the table) count, when not all time. */
  window?: { from: string; to: string }
  /** The Monday–Friday × 24 table (five rows of 24 counts), drawn as a heatmap under the bars. */
  weekdays?: number[][]
  /** The days the table counts, when the hours count all time (the live page). */
  weekdayWindow?: { from: string; to: string }
}

/** What {@link renderDashboard} draws, and whether it follows the server. */
export interface DashboardOptions {
  /** True for the served page, which follows `events` (GET /events) after drawing `snapshot`. */
  live: boolean
  snapshot: DashboardData
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d232a;--muted:#5f6b7a;--card:#fff;--line:#dfe3e8;--bar:#8da6c9;--peak:#d9480f;--ok:#2b8a3e;--bad:#c92a2a}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#9aa5b4;--card:#181d23;--line:#2b323b;--bar:#4c6a96;--peak:#ff8c42;--ok:#69db7c;--bad:#ff6b6b}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:980px;margin:0 auto;padding:16px}
header{display:flex;justify-content:space-between;gap:8px;color:var(--muted);font-size:13px}
#status::before{content:"\\25CF\\00A0"}
#status[data-state=live]{color:var(--ok)}
#status[data-state=disconnected]{color:var(--bad)}
h1{font-size:1.5rem;margin:6px 0 2px}
h1 strong{color:var(--peak)}
#what{color:var(--muted);margin:0 0 14px;font-size:13px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:22px 12px 8px}
#chart{display:grid;grid-template-columns:repeat(24,minmax(0,1fr));gap:3px}
#chart[data-stale]{opacity:.35}
.track{height:220px;display:flex;flex-direction:column;justify-content:flex-end}
.bar{position:relative;background:var(--bar);border-radius:2px 2px 0 0}
.bar[data-peak]{background:var(--peak)}
.bar::after{content:attr(data-label);position:absolute;bottom:100%;left:50%;transform:translateX(-50%);font-size:11px;color:var(--muted);white-space:nowrap}
.bar[data-peak]::after{color:var(--peak);font-weight:700}
.label{border-top:1px solid var(--line);padding-top:2px;text-align:center;font-size:11px;color:var(--muted);font-variant-numeric:tabular-nums}
.label[data-peak]{color:var(--peak);font-weight:700}
dl{display:grid;grid-template-columns:repeat(auto-fit,minmax(110px,1fr));gap:10px;margin:14px 0 0}
dt{font-size:12px;color:var(--muted)}
dd{margin:0;font-size:1.2rem;font-variant-numeric:tabular-nums}
#store[data-reachable=true]{color:var(--ok)}
#store[data-reachable=false]{color:var(--bad)}
#kafka[data-connected=false],#kafka[data-waiting=true]{color:var(--bad)}
#reasons,footer{font-size:12px;color:var(--muted);margin-top:8px}
#heat{margin-top:14px}
#heat h2{font-size:13px;font-weight:600;color:var(--muted);margin:0 0 8px}
#grid{display:grid;grid-template-columns:34px repeat(24,minmax(0,1fr));gap:2px;font-size:11px;color:var(--muted)}
.cell{aspect-ratio:1.6;border-radius:2px;background:var(--peak);opacity:calc(.08 + .92 * var(--v))}
.cell[data-users="0"]{background:var(--line);opacity:.6}
.hx{text-align:center;font-variant-numeric:tabular-nums}
.share{text-align:center;font-size:10px;color:var(--muted);font-variant-numeric:tabular-nums;min-height:14px}
.share[data-small]{opacity:.5}
.share[data-peak]{color:var(--peak);font-weight:700}
#shares{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-top:14px;padding:12px}
#shares h2,#groups h2{font-size:13px;font-weight:600;color:var(--muted);margin:0 0 6px}
#shares ol,#groups ol{margin:0;padding-left:22px;font-variant-numeric:tabular-nums}
#share-note{grid-column:1/-1;font-size:12px;color:var(--muted);margin:0}
#heat-by{float:right;font:inherit;font-size:12px;background:none;border:1px solid var(--line);border-radius:4px;color:var(--fg);cursor:pointer}
#groups{margin-top:14px;padding:12px}
#group-list li{display:grid;grid-template-columns:minmax(0,1fr) 70px 168px;gap:10px;align-items:end;padding:2px 0}
.gv{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-family:ui-monospace,monospace;font-size:13px}
.gu{text-align:right}
.spark{display:grid;grid-template-columns:repeat(24,1fr);gap:1px;height:22px;align-items:end}
.spark i{display:block;background:var(--bar);min-height:1px}
.spark i[data-zero]{background:var(--line)}
[hidden]{display:none!important}
@media (max-width:600px){main{padding:10px}h1{font-size:1.1rem}#chart{gap:1px}.track{height:180px}
.bar:not([data-peak])::after{content:none}.col:not(:nth-child(3n+1)) .label:not([data-peak]){visibility:hidden}
.col:has(+ .col .label[data-peak]) .label,.col:has(.label[data-peak]) + .col .label{visibility:hidden}}
`

const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id)
  const live = document.documentElement.hasAttribute('data-live')
  const whole = new Intl.NumberFormat('en')
  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })
  const hh = (h) => String(h).padStart(2, '0')
  const chart = $('chart')
  const bars = []
  const labels = []
  const shareCells = []
  const pct = (v) => (v * 100).toFixed(1) + ' %'
  let last = null
  let heatBy = 'users'
  for (let hour = 0; hour < 24; hour++) {
    const col = document.createElement('div')
    const track = document.createElement('div')
    const bar = document.createElement('div')
    const label = document.createElement('div')
    col.className = 'col'
    track.className = 'track'
    bar.className = 'bar'
    label.className = 'label'
    bar.dataset.hour = hour
    label.textContent = hh(hour)
    const share = document.createElement('div')
    share.className = 'share'
    share.dataset.hour = hour
    share.hidden = true
    track.append(bar)
    col.append(track, label, share)
    chart.append(col)
    bars.push(bar)
    labels.push(label)
    shareCells.push(share)
  }
  const mark = (el, on) => (on ? el.setAttribute('data-peak', '') : el.removeAttribute('data-peak'))
  function headline(d) {
    const peak = $('peak')
    peak.dataset.peakHour = d.hours === null ? 'unknown' : d.peakHour === null ? '' : d.peakHour
    peak.dataset.peakUsers = d.peakUsers === null ? '' : d.peakUsers
    if (d.hours === null) peak.textContent = 'Hour counts unavailable' + (d.error ? ': ' + d.error : '')
    else if (d.peakHour === null) peak.textContent = live ? 'No server errors yet' : 'No server errors found'
    else {
      const span = document.createElement('strong')
      const users = document.createElement('strong')
      span.textContent = hh(d.peakHour) + ':00\\u2013' + hh(d.peakHour) + ':59'
      users.textContent = whole.format(d.peakUsers)
      const noun = d.peakUsers === 1 ? ' user' : ' users'
      peak.replaceChildren('Peak hour ', span, ': ', users, noun + ' hit server errors')
    }
    document.title = (d.peakHour === null ? 'loghour' : 'loghour \\u00B7 peak ' + hh(d.peakHour) + ':00') + (live ? '' : ' (report)')
  }
  function draw(d) {
    if (d.hours) {
      const max = Math.max(0, ...d.hours)
      d.hours.forEach((users, hour) => {
        const bar = bars[hour]
        bar.dataset.users = users
        bar.dataset.label = users > 0 ? compact.format(users) : ''
        bar.style.height = max > 0 ? (users / max) * 100 + '%' : '0'
        bar.title = hh(hour) + ':00 \\u2014 ' + whole.format(users) + ' users'
        mark(bar, hour === d.peakHour)
        mark(labels[hour], hour === d.peakHour)
      })
    }
    chart.toggleAttribute('data-stale', d.hours === null)
    last = d
    headline(d)
    heat(d)
    shares(d)
    groups(d)
    $('what').textContent =
      'Distinct users (day, IP) who got a server error (5xx), per hour of the working day' +
      (d.window ? ', ' + d.window.from + ' to ' + d.window.to : '')
    for (const key of ['total', 'counted', 'skipped', 'invalid']) $(key).textContent = whole.format(d.lines[key])
    const reasons = Object.entries(d.invalid).filter(([, n]) => n > 0)
    $('reasons').textContent = 'invalid: ' + (reasons.length ? reasons.map(([r, n]) => r + ' ' + whole.format(n)).join(', ') : 'none')
    if (d.store) {
      const store = $('store')
      store.dataset.kind = d.store.kind
      store.dataset.reachable = d.store.reachable
      store.textContent = d.store.reachable ? 'reachable' : 'unreachable'
      $('store-kind').textContent = d.store.kind + ' store'
      $('lines-per-second').textContent = d.linesPerSecond == null ? '\\u2013' : whole.format(Math.round(d.linesPerSecond))
    }
    if (d.kafka) {
      const k = d.kafka
      $('kafka-box').hidden = false
      const parts = k.partitions.length + ' partition' + (k.partitions.length === 1 ? '' : 's')
      $('kafka-group').textContent = 'Kafka ' + k.group + ' \\u00b7 ' + parts + (k.state === 'consuming' ? '' : ' \\u00b7 ' + k.state)
      const kafka = $('kafka')
      kafka.dataset.connected = k.connected
      kafka.dataset.waiting = k.waitingForStore
      kafka.textContent = k.connected ? 'lag ' + (k.lag == null ? '\\u2013' : whole.format(k.lag)) : 'no broker answers'
      kafka.title = k.partitions.map((p) => p.topic + '/' + p.partition + ': lag ' + (p.lag == null ? '?' : p.lag)).join('\\n')
    }
    $('updated').textContent = d.at
      ? 'updated ' + new Date(d.at).toLocaleTimeString()
      : 'generated ' + d.generatedAt + (d.sources ? ' from ' + d.sources.map((s) => (s === '-' ? 'stdin' : s)).join(', ') : '')
  }
  const grid = $('grid')
  const cells = []
  grid.append(document.createElement('span'))
  for (let hour = 0; hour < 24; hour++) {
    const x = document.createElement('span')
    x.className = 'hx'
    x.textContent = hour % 3 === 0 ? hh(hour) : ''
    grid.append(x)
  }
  ;['Mon', 'Tue', 'Wed', 'Thu', 'Fri'].forEach((name, w) => {
    const y = document.createElement('span')
    y.textContent = name
    grid.append(y)
    cells.push([])
    for (let hour = 0; hour < 24; hour++) {
      const cell = document.createElement('div')
      cell.className = 'cell'
      cell.dataset.weekday = w
      cell.dataset.hour = hour
      grid.append(cell)
      cells[w].push(cell)
    }
  })
  function heat(d) {
    $('heat').hidden = !d.weekdays
    if (!d.weekdays) return
    const byShare = heatBy === 'share' && d.weekdayUsers
    $('heat-by').hidden = !d.weekdayUsers
    $('heat-by').textContent = byShare ? 'by users' : 'by share'
    const min = d.minUsers || 1
    const value = (w, hour) => {
      const n = d.weekdays[w][hour]
      if (!byShare) return n
      const all = d.weekdayUsers[w][hour]
      return all >= min && all > 0 ? n / all : 0
    }
    const max = Math.max(0, ...d.weekdays.flatMap((row, w) => row.map((_, hour) => value(w, hour))))
    const names = ['Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays']
    d.weekdays.forEach((row, w) =>
      row.forEach((users, hour) => {
        const cell = cells[w][hour]
        const v = value(w, hour)
        cell.dataset.users = byShare ? (v > 0 ? 1 : 0) : users
        cell.style.setProperty('--v', max > 0 ? v / max : 0)
        cell.title =
          names[w] + ' ' + hh(hour) + ':00 \u2014 ' + whole.format(users) + ' users' +
          (d.weekdayUsers ? ' of ' + whole.format(d.weekdayUsers[w][hour]) + (byShare ? ', ' + pct(v) : '') : '')
      }),
    )
    const span = d.window || d.weekdayWindow
    $('heat-title').textContent =
      (byShare ? 'Share hurt by weekday and hour (cells with at least ' + min + ' users)' : 'By weekday and hour') +
      (span ? ', ' + span.from + ' to ' + span.to : '')
  }
  $('heat-by').onclick = () => {
    heatBy = heatBy === 'share' ? 'users' : 'share'
    if (last) heat(last)
  }
  function list(id, items) {
    $(id).replaceChildren(
      ...(items.length ? items : ['none']).map((text) => {
        const li = document.createElement('li')
        li.textContent = text
        return li
      }),
    )
  }
  function shares(d) {
    const on = Boolean(d.users && d.share && d.hours)
    $('shares').hidden = !on
    for (const cell of shareCells) cell.hidden = !on
    if (!on) return
    d.share.forEach((v, hour) => {
      const cell = shareCells[hour]
      cell.textContent = v === null || v === 0 ? '' : Math.round(v * 100) + '%'
      cell.title = v === null ? '' : hh(hour) + ':00 \u2014 ' + pct(v) + ' of ' + whole.format(d.users[hour]) + ' users hurt'
      cell.toggleAttribute('data-small', d.users[hour] < d.minUsers)
      mark(cell, Boolean(d.shareHour) && d.shareHour.hour === hour)
    })
    const byHurt = d.hours.map((n, h) => [h, n]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0])
    list('rank-hurt', byHurt.slice(0, 5).map(([h, n]) => hh(h) + ':00 \u2014 ' + whole.format(n) + ' of ' + whole.format(d.users[h]) + ' users'))
    const byShare = d.share
      .map((v, h) => [h, v])
      .filter(([h, v]) => v !== null && v > 0 && d.users[h] >= d.minUsers)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    list('rank-share', byShare.slice(0, 5).map(([h, v]) => hh(h) + ':00 \u2014 ' + pct(v) + ' (' + whole.format(d.hours[h]) + ' of ' + whole.format(d.users[h]) + ')'))
    $('share-note').textContent =
      'Shares are ranked among hours with at least ' + whole.format(d.minUsers) + ' users; each is an estimate within about \u00B1' +
      (d.shareError * 100).toFixed(2) + ' % of itself (two HyperLogLogs at 0.81 % each).'
  }
  function groups(d) {
    $('groups').hidden = !d.groups
    if (!d.groups) return
    const shown = d.groups.length < (d.groupValues || 0) ? ', top ' + d.groups.length + ' of ' + whole.format(d.groupValues) + ' values' : ''
    $('groups-title').textContent = 'Users hurt by ' + d.groupBy + shown
    $('group-list').replaceChildren(
      ...d.groups.map((g) => {
        const li = document.createElement('li')
        const value = document.createElement('span')
        const users = document.createElement('span')
        const spark = document.createElement('span')
        value.className = 'gv'
        users.className = 'gu'
        spark.className = 'spark'
        value.textContent = g.value
        value.title = g.value
        users.textContent = whole.format(g.users)
        const max = Math.max(0, ...g.hours)
        g.hours.forEach((n, hour) => {
          const i = document.createElement('i')
          i.style.height = max > 0 ? Math.max(4, (n / max) * 100) + '%' : '0'
          i.title = hh(hour) + ':00 \u2014 ' + whole.format(n) + ' users'
          if (n === 0) i.setAttribute('data-zero', '')
          spark.append(i)
        })
        li.dataset.value = g.value
        li.append(value, users, spark)
        return li
      }),
    )
  }
  function status(state) {
    $('status').dataset.state = state
    $('status').textContent = state
  }
  draw(JSON.parse($('loghour-data').textContent))
  if (!live) return status('report')
  for (const id of ['rate', 'store-box']) $(id).hidden = false
  status('connecting')
  function connect() {
    const events = new EventSource('events')
    events.onopen = () => status('live')
    events.onmessage = (e) => {
      status('live')
      draw(JSON.parse(e.data))
    }
    events.onerror = () => {
      status('disconnected')
      // EventSource retries by itself after a network error, not after an error status (503).
      if (events.readyState === EventSource.CLOSED) setTimeout(connect, 5000)
    }
  }
  connect()
})()
`

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** Only this page's own style and script run, and the report reaches nothing outside itself. */
const csp = (live: boolean) =>
  `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; img-src data:; ` +
  `connect-src ${live ? "'self'" : "'none'"}; base-uri 'none'; form-action 'none'`

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** The text report, for browsers without JavaScript. */
function plainText(d: DashboardData): string {
  const hours = d.hours === null ? 'Hour counts unavailable' : renderAnswer({ ...d, hours: d.hours })
  return `${hours}\n\n${renderLines(d)}`
}

/**
 * The dashboard as one HTML document: the live page when `live` (it follows GET /events), else
 * the static report. `snapshot` is embedded as JSON in `<script id="loghour-data">`, for the
 * page's script and for tools.
 * @example
 * writeFileSync('report.html', renderDashboard({ live: false, snapshot: { ...(await consumer.stats()), generatedAt } }))
 */
export function renderDashboard({ live, snapshot }: DashboardOptions): string {
  // `<` escaped: nothing in the data (a file name) can close the script element.
  const json = JSON.stringify(snapshot).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en"${live ? ' data-live' : ''}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp(live)}">
<link rel="icon" href="data:,">
<title>loghour${live ? '' : ' (report)'}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><span>loghour · 5xx by hour, Monday–Friday</span><span id="status" data-state="">${live ? 'connecting' : 'report'}</span></header>
<h1 id="peak"></h1>
<p id="what">Distinct users (day, IP) who got a server error (5xx), per hour of the working day</p>
<noscript><pre>${escapeHtml(plainText(snapshot))}</pre></noscript>
<div class="card"><div id="chart" role="img" aria-label="distinct users per hour, 00 to 23"></div></div>
<div class="card" id="shares" hidden><div><h2>Most users hurt</h2><ol id="rank-hurt"></ol></div><div><h2>Largest share hurt</h2><ol id="rank-share"></ol></div><p id="share-note"></p></div>
<div class="card" id="groups" hidden><h2 id="groups-title"></h2><ol id="group-list"></ol></div>
<div class="card" id="heat" hidden><button id="heat-by" type="button" hidden>by share</button><h2 id="heat-title">By weekday and hour</h2><div id="grid" role="img" aria-label="distinct users per weekday and hour"></div></div>
<dl>
<div id="rate" hidden><dt>lines/s</dt><dd id="lines-per-second">–</dd></div>
<div><dt>lines read</dt><dd id="total"></dd></div>
<div><dt>counted</dt><dd id="counted"></dd></div>
<div><dt>skipped</dt><dd id="skipped"></dd></div>
<div><dt>invalid</dt><dd id="invalid"></dd></div>
<div id="store-box" hidden><dt id="store-kind">store</dt><dd id="store"></dd></div>
<div id="kafka-box" hidden><dt id="kafka-group">Kafka</dt><dd id="kafka"></dd></div>
</dl>
<p id="reasons"></p>
<footer id="updated"></footer>
</main>
<script type="application/json" id="loghour-data">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`
}
