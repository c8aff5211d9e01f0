// A real nginx (Debian's nginx-light) on a free port in a temp dir, its clock pinned with
// libfaketime in a given zone, writing the default `combined` log and the JSON log of docs/your-logs.md.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './redis.js'
import { pinnedClock } from './tools.js'

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))

export { LIBFAKETIME } from './tools.js'

export const CURL = spawnSync('curl', ['--version']).status === 0

/** The JSON log_format of docs/your-logs.md: read by loghour without flags. */
export const NGINX_JSON_FORMAT = `log_format loghour escape=json '{"time":"$time_iso8601","ip":"$remote_addr","status_code":$status}';`

/** The statuses the test server answers: `/s/503` answers 503, and any other path with `?s=503` too. */
export const STATUSES = [200, 404, 500, 502, 503]

/** A JSON log_format with the request's host, method and target too (for `--group-by`). */
export const NGINX_FIELDS_FORMAT = `log_format fields escape=json '{"time":"$time_iso8601","ip":"$remote_addr","status_code":$status,"host":"$host","method":"$request_method","path":"$request_uri"}';`

export interface Nginx {
  port: number
  dir: string
  /** Stops nginx (SIGQUIT: logs are flushed) and waits for its exit. */
  stop(): Promise<void>
}

/** Starts nginx in `dir` with its clock at `now` (local time in `tz`, as libfaketime reads it). */
export async function startNginx(dir: string, now: string, tz: string): Promise<Nginx> {
  const port = await freePort()
  const locations = STATUSES.map((s) => `location = /s/${s} { return ${s}; }`).join('\n      ')
  const byArgument = STATUSES.map((s) => `if ($arg_s = "${s}") { return ${s}; }`).join('\n      ')
  writeFileSync(
    join(dir, 'nginx.conf'),
    `
worker_processes 1;
daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 64; }
http {
  ${NGINX_JSON_FORMAT}
  ${NGINX_FIELDS_FORMAT}
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    access_log ${join(dir, 'access.log')} combined;
    access_log ${join(dir, 'access.json')} loghour;
    access_log ${join(dir, 'access.fields.json')} fields;
    ${locations}
    location / {
      ${byArgument}
      return 200;
    }
  }
}
`,
  )
  const child: ChildProcess = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    env: { PATH: process.env.PATH, TZ: tz, ...pinnedClock(now) },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Ready when it answers.
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readFileSync(join(dir, 'error.log'), 'utf8')}`)
    if (curl(port, '127.0.0.1', 200) === 200) break
    if (attempt > 200) throw new Error(`nginx did not answer: ${stderr}`)
    await new Promise((r) => setTimeout(r, 25))
  }
  return {
    port,
    dir,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT')
      await exited
    },
  }
}

/**
 * One request from `from` (any 127.0.0.x works on Linux loopback) to `/s/<status>`, or with `path`
 * to `<path>?s=<status>` (method `method`); returns the status.
 */
export function curl(port: number, from: string, status: number, path?: string, method = 'GET'): number {
  const target = path === undefined ? `/s/${status}` : `${path}${path.includes('?') ? '&' : '?'}s=${status}`
  const r = spawnSync('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-X',
    method,
    '--interface',
    from,
    `http://127.0.0.1:${port}${target}`,
  ])
  return Number(r.stdout.toString())
}

/** A temp dir for one nginx. */
export const nginxDir = () => mkdtempSync(join(tmpdir(), 'loghour-nginx-'))
