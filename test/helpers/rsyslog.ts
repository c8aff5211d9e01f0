// A real rsyslogd in a temp dir, and the recipes of docs/your-logs.md and docs/server.md for it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, onTestFinished } from 'vitest'

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p))

/** The rsyslog recipe of docs/your-logs.md for a log file and a loghour-server port. */
export function rsyslogRecipe(file: string, port: number): string {
  return `module(load="imfile")
input(type="imfile" File="${file}" Tag="nginx" freshStartTail="off")
template(name="loghour_line" type="string" string="%msg%\\n")
action(type="omfwd" target="127.0.0.1" port="${port}" protocol="tcp" template="loghour_line")
`
}

/** Where the TLS recipe's certificates are: the CA that signed loghour-server's, and rsyslog's own. */
export interface RsyslogTlsFiles {
  ca: string
  cert: string
  key: string
}

/**
 * The rsyslog recipe of docs/server.md over mutual TLS (`StreamDriver="ossl"`, Debian's rsyslog-openssl):
 * it verifies the server certificate's name and presents its own certificate.
 */
export function rsyslogTlsRecipe(file: string, port: number, tls: RsyslogTlsFiles): string {
  return `global(DefaultNetstreamDriverCAFile="${tls.ca}"
       DefaultNetstreamDriverCertFile="${tls.cert}" DefaultNetstreamDriverKeyFile="${tls.key}")
module(load="imfile")
input(type="imfile" File="${file}" Tag="nginx" freshStartTail="off")
template(name="loghour_line" type="string" string="%msg%\\n")
action(type="omfwd" target="localhost" port="${port}" protocol="tcp" template="loghour_line"
       StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost")
`
}

/** True where rsyslog's OpenSSL network driver is installed (Debian: rsyslog-openssl). */
export const RSYSLOG_OSSL = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'].some((d) =>
  existsSync(join(d, 'lmnsd_ossl.so')),
)

/** Starts rsyslogd in the foreground with `config` (checked with -N1 first); killed when the test ends. */
export function startRsyslog(dir: string, config: string): ChildProcess {
  const conf = join(dir, 'rsyslog.conf')
  writeFileSync(conf, `global(workDirectory="${dir}")\n${config}`)
  expect(spawnSync(RSYSLOGD!, ['-N1', '-f', conf]).status, 'rsyslogd -N1 accepts the recipe').toBe(0)
  const child = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' })
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return child
}
