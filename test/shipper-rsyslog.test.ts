// A real shipper end to end: nginx writes its Combined log, rsyslog tails it (imfile) and forwards
// each line over TCP (omfwd, template "%msg%\n"), loghour-server --format clf counts them — the
// rsyslog recipes of docs/your-logs.md and docs/server.md, as written there, over plain TCP and over mutual TLS.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { run } from './helpers/cli.js'
import { CURL, curl, LIBFAKETIME, NGINX, nginxDir, STATUSES, startNginx } from './helpers/nginx.js'
import { RSYSLOG_OSSL, RSYSLOGD, rsyslogRecipe, rsyslogTlsRecipe, startRsyslog } from './helpers/rsyslog.js'
import { startServer } from './helpers/server.js'
import { certificateAuthority } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

describe.skipIf(
  missing('rsyslogd (apt-get install rsyslog)', RSYSLOGD !== undefined) ||
    missing('nginx (apt-get install nginx-light)', NGINX !== undefined) ||
    missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined) ||
    missing('curl', CURL),
)('rsyslog imfile → omfwd → loghour-server --format clf', () => {
  it('counts every line nginx wrote, as analyze counts the file', async () => {
    const dir = nginxDir()
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const server = await startServer(['--format', 'clf', '--stats-interval', '0.1'])
    const nginx = await startNginx(dir, '2026-11-23 09:15:00', 'America/New_York')
    onTestFinished(() => nginx.stop())
    startRsyslog(dir, rsyslogRecipe(join(dir, 'access.log'), server.port))
    let sent = 1 // nginx's readiness probe
    for (const ip of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
      for (const status of STATUSES) {
        expect(curl(nginx.port, ip, status)).toBe(status)
        sent++
      }
    }
    const report = await server.waitForLog((r) => (r.lines as { total?: number } | undefined)?.total === sent, 0)
    expect(report.invalid).toMatchObject({ clf: 0, badTime: 0, utf8: 0 })
    // Three clients saw 5xx on a Monday at 09:xx New York time.
    await server.waitForLog((r) => Array.isArray(r.hours) && (r.hours as number[])[9] === 3, 0)
    const analyzed = await run('loghour.js', ['analyze', '--json', '--format', 'clf', join(dir, 'access.log')])
    expect(JSON.parse(analyzed.stdout.toString()).hours).toEqual(server.lastHours())
    expect(readFileSync(join(dir, 'access.log'), 'utf8').trim().split('\n')).toHaveLength(sent)
  }, 60_000)

  it.skipIf(missing('rsyslog-openssl (apt-get install rsyslog-openssl)', RSYSLOG_OSSL))(
    'over mutual TLS (StreamDriver="ossl"): the same count, rsyslog presenting its certificate',
    async () => {
      const dir = nginxDir()
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
      const ca = certificateAuthority()
      const [serverCert, shipper] = [ca.issue('loghour-server'), ca.issue('rsyslog')]
      const tlsFlags = ['--tls-cert', serverCert.certFile, '--tls-key', serverCert.keyFile, '--tls-ca', ca.certFile, '--tls-client-auth']
      const server = await startServer(['--format', 'clf', '--stats-interval', '0.1', ...tlsFlags])
      const nginx = await startNginx(dir, '2026-11-24 14:05:00', 'Europe/Berlin')
      onTestFinished(() => nginx.stop())
      startRsyslog(
        dir,
        rsyslogTlsRecipe(join(dir, 'access.log'), server.port, { ca: ca.certFile, cert: shipper.certFile, key: shipper.keyFile }),
      )
      let sent = 1
      for (const ip of ['127.0.0.5', '127.0.0.6']) {
        for (const status of STATUSES) {
          expect(curl(nginx.port, ip, status)).toBe(status)
          sent++
        }
      }
      await server.waitForLog((r) => (r.lines as { total?: number } | undefined)?.total === sent, 0)
      await server.waitForLog((r) => Array.isArray(r.hours) && (r.hours as number[])[14] === 2, 0)
      expect(await server.stop()).toBe(0)
      expect(server.logs.find((r) => r.msg.startsWith('stopped'))).toMatchObject({ tlsHandshakeFailures: 0 })
    },
    60_000,
  )
})
