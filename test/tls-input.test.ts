// TLS and mutual TLS on the TCP input, with openssl-made certificates (never committed): socat
// OPENSSL: and `loghour send --tls` count exactly what plain TCP counts; clients without a
// certificate, with another CA's, or in plain text are refused (reset, counted, logged once per
// peer a minute) and never hurt the server; SIGHUP swaps certificates without dropping anyone.
// The hostile-client guarantees on TLS are in server-robust.test.ts (the same tests, both ways).
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import { describe, expect, it } from 'vitest'
import { createConsumer, demoLines, OptionError, type Stats } from '../src/index.js'
import { run } from './helpers/cli.js'
import { cleanEnv, eventually, message, open, PLAIN_TCP, type ServerProcess, sendTcp, startServer } from './helpers/server.js'
import { type Authority, certificateAuthority } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const SOCAT = spawnSync('socat', ['-V']).status === 0
const env = { env: cleanEnv() }

/** Starts a server with --http on a free port; resolves with it and a reader of its /stats. */
async function withStats(
  args: string[],
): Promise<{ server: ServerProcess; stats: () => Promise<Stats>; metric: (name: string) => Promise<number> }> {
  const server = await startServer(['--http', '127.0.0.1:0', '--stats-interval', '0', ...args])
  const { port } = (await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }
  const base = `http://127.0.0.1:${port}`
  return {
    server,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as Stats,
    metric: async (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1]),
  }
}

/** Server flags for TLS with `server`'s certificate, and mutual TLS against `ca` when given. */
const serveTls = (server: { certFile: string; keyFile: string }, ca?: Authority) => [
  ...['--tls-cert', server.certFile, '--tls-key', server.keyFile],
  ...(ca ? ['--tls-ca', ca.certFile, '--tls-client-auth'] : []),
]

/** Runs socat sending `file` to the port over TLS with socat's own options; resolves with its exit code. */
function socatTls(file: string, port: number, options: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('socat', ['-u', `FILE:${file}`, `OPENSSL:127.0.0.1:${port},${options}`], { stdio: 'ignore' })
    child.on('close', resolve)
  })
}

describe.skipIf(missing('socat', SOCAT))('TLS on the TCP input', () => {
  const ca = certificateAuthority()
  const [serverCert, client] = [ca.issue('loghour-server'), ca.issue('shipper')]
  const stranger = certificateAuthority('another CA').issue('stranger')
  const dir = mkdtempSync(join(tmpdir(), 'loghour-tls-input-'))
  const sendTls = (port: number, file: string, flags: string[]) =>
    run('loghour.js', ['send', '--host', '127.0.0.1', '--port', String(port), ...flags, file], undefined, env)
  const clientFlags = ['--tls', '--ca', ca.certFile, '--cert', client.certFile, '--key', client.keyFile]

  it('lines over socat OPENSSL: and `loghour send --tls` count exactly as over plain TCP', async () => {
    // 20,000 demo lines, garbage, a line over the limit and an unterminated last line.
    const data = Buffer.concat([
      demoLines(2, 1, 20_000),
      Buffer.from(`not json\n{"time":"2019-05-06 17:00:00"}\n{"pad":"${'x'.repeat(5000)}"}\n\n`),
      readFileSync(join(__dirname, 'fixtures/reference-12.log')),
      Buffer.from('{"time":"2019-05-07 09:30:00","ip":"last","status_code":502}'),
    ])
    const file = join(dir, 'mixed.log')
    writeFileSync(file, data)
    const limits = ['--max-line-bytes', '1024']
    const plain = await withStats(limits)
    const secure = await withStats([...limits, ...serveTls(serverCert, ca)])
    await sendTcp(plain.server.port, data)
    await sendTcp(plain.server.port, data)
    const socat = `cafile=${ca.certFile},cert=${client.certFile},key=${client.keyFile},commonname=localhost`
    expect(await socatTls(file, secure.server.port, socat)).toBe(0)
    const sent = await sendTls(secure.server.port, file, clientFlags)
    expect(sent.stderr).toMatch(/^sent \d+ lines? \(\d+ bytes, [\d.]+ [kMG]B\) to 127\.0\.0\.1:\d+ in [\d.]+ s\n$/)
    expect(sent.code).toBe(0)
    const expected = await plain.stats()
    expect(expected.lines.invalid).toBeGreaterThan(0)
    expect(expected.invalid.tooLong).toBe(2)
    // socat may exit before the server has read its last bytes.
    await eventually(async () => (await secure.stats()).lines.total === expected.lines.total, 10_000, 'every line over TLS')
    expect(await secure.stats()).toEqual(expected)
    expect(await secure.metric('loghour_tls_handshake_failures_total')).toBe(0)
    expect(await plain.server.stop()).toBe(0)
    expect(await secure.server.stop()).toBe(0)
    const stopped = secure.server.logs.find(message('stopped'))!
    expect(stopped).toMatchObject({ accepted: 2, sharedBufferReads: 2, tlsHandshakeFailures: 0 })
    expect(secure.server.logs.find(message('loghour-server listening'))).toMatchObject({ tls: true })
    expect(secure.server.logs.find(message('loghour-server listening'))!.msg).toMatch(/over TLS, client certificates required/)
  })

  it('refuses clients without a certificate, with another CA’s, or in plain text: reset, counted, logged once a minute per peer', async () => {
    const { server, stats, metric } = await withStats(serveTls(serverCert, ca))
    const file = join(dir, 'one.log')
    writeFileSync(file, '{"time":"2026-11-23 09:15:00","ip":"a","status_code":503}\n')
    // The plain client still sends when the reset comes: one that had sent everything and closed
    // may see a clean close under load (Node closes the failed TLS socket's TCP connection
    // before loghour can reset it).
    const big = join(dir, 'big.log')
    writeFileSync(big, '{"time":"2026-11-23 09:15:00","ip":"a","status_code":503}\n'.repeat(64 * 1024))
    const refusals = [
      await sendTls(server.port, file, ['--tls', '--ca', ca.certFile]),
      await sendTls(server.port, file, ['--tls', '--ca', ca.certFile, '--cert', stranger.certFile, '--key', stranger.keyFile]),
      await sendTls(server.port, big, []),
    ]
    for (const refused of refusals) {
      expect(refused.code, refused.stderr || `refusal ${refusals.indexOf(refused)} exited 0`).toBe(1)
      // Refused during the handshake (send waits for a TLS 1.3 server to take it), or while sending.
      expect(refused.stderr).toMatch(
        /^loghour: (cannot connect to 127\.0\.0\.1:\d+|connection to 127\.0\.0\.1:\d+ lost after \d+ bytes): ((read|write) (ECONNRESET|EPIPE)|closed by the server); /,
      )
    }
    expect(refusals[0]!.stderr).toMatch(/the server refused the client certificate/)
    expect(refusals[2]!.stderr).toMatch(/if the server serves TLS, add --tls/)
    expect(await socatTls(file, server.port, `cafile=${ca.certFile},commonname=localhost`)).not.toBe(0)
    const socatStranger = `cafile=${ca.certFile},cert=${stranger.certFile},key=${stranger.keyFile},commonname=localhost`
    expect(await socatTls(file, server.port, socatStranger)).not.toBe(0)
    // A client that does not trust the server gives up in the handshake: a failure too.
    const distrust = await sendTls(server.port, file, ['--tls', '--ca', stranger.certFile])
    expect(distrust.code).toBe(1)
    expect(distrust.stderr).toMatch(/^loghour: cannot connect to 127\.0\.0\.1:\d+: /)
    await eventually(async () => (await metric('loghour_tls_handshake_failures_total')) === 6, 10_000, 'six failed handshakes')
    expect((await stats()).lines.total).toBe(0) // nothing a refused client sent was read
    // The server goes on: a trusted client is counted.
    expect((await sendTls(server.port, file, clientFlags)).code).toBe(0)
    expect((await stats()).lines.counted).toBe(1)
    expect(await server.stop()).toBe(0)
    const logged = server.logs.filter(message('TLS handshake failed'))
    expect(logged).toHaveLength(1) // six failures from one peer within a minute
    expect(logged[0]!.msg).toMatch(/^TLS handshake failed from 127\.0\.0\.1:\d+: no client certificate$/)
    expect(logged[0]).toMatchObject({ peer: '127.0.0.1', code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' })
  })

  it('SIGHUP re-reads the certificates: new handshakes use them, open connections go on; a bad file keeps the old ones', async () => {
    const second = certificateAuthority('the next CA')
    const files = { certFile: join(dir, 'live.pem'), keyFile: join(dir, 'live-key.pem') }
    const install = (certificate: { certFile: string; keyFile: string }) => {
      copyFileSync(certificate.certFile, files.certFile)
      copyFileSync(certificate.keyFile, files.keyFile)
    }
    install(serverCert)
    const { server, stats } = await withStats(serveTls(files))
    const line = (ip: string) => `{"time":"2026-11-23 10:15:00","ip":"${ip}","status_code":500}\n`
    const early = await open(server.port, { ...PLAIN_TCP, tls: { ca: ca.cert } })
    const earlyClosed = new Promise<boolean>((resolve) => early.once('close', resolve))
    early.write(line('before the reload'))
    await eventually(async () => (await stats()).lines.counted === 1, 10_000, 'the first line')

    install(second.issue('loghour-server'))
    const reloaded = server.logs.length
    server.child.kill('SIGHUP')
    await server.waitForLog(message('SIGHUP: TLS certificates re-read'), reloaded)
    const file = join(dir, 'after.log')
    writeFileSync(file, line('after the reload'))
    expect((await sendTls(server.port, file, ['--tls', '--ca', second.certFile])).code).toBe(0)
    const old = await sendTls(server.port, file, ['--tls', '--ca', ca.certFile])
    expect(old.code).toBe(1)
    expect(old.stderr).toMatch(/cannot connect .*certificate/)

    // A key that does not match: the reload is refused, the current certificate stays.
    writeFileSync(files.keyFile, readFileSync(client.keyFile))
    const refused = server.logs.length
    server.child.kill('SIGHUP')
    expect((await server.waitForLog(message('SIGHUP: TLS certificates not reloaded'), refused)).msg).toMatch(/previous ones stay in use/)
    expect((await sendTls(server.port, file, ['--tls', '--ca', second.certFile])).code).toBe(0)

    // The connection opened before both reloads was never interrupted.
    early.end(line('still the first connection'))
    expect(await earlyClosed).toBe(false)
    expect((await stats()).lines.counted).toBe(4)
    expect((await stats()).hours[10]).toBe(3)
    expect(await server.stop()).toBe(0)
  })

  it('a client stalled in its handshake neither blocks others nor holds up shutdown', async () => {
    const { server, stats } = await withStats(serveTls(serverCert))
    const stalled = await open(server.port) // plain TCP: says nothing, never handshakes
    const stalledClosed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
    stalled.on('error', () => {})
    await sendTcp(server.port, Buffer.from('{"time":"2026-11-23 11:00:00","ip":"x","status_code":500}\n'), undefined, {
      ...PLAIN_TCP,
      tls: { ca: ca.cert },
    })
    expect((await stats()).lines.counted).toBe(1)
    const started = performance.now()
    expect(await server.stop()).toBe(0)
    await stalledClosed
    // Without closing it, shutdown would wait for the 10 s handshake timeout.
    expect(performance.now() - started).toBeLessThan(8000)
  })

  it('refuses incomplete or unusable TLS settings with one line (exit 2)', async () => {
    const cases: [string[], string | RegExp][] = [
      [['--tls-cert', serverCert.certFile], 'loghour-server: invalid combination: --tls-cert needs its pair (--tls-cert with --tls-key)\n'],
      [
        ['--tls-ca', ca.certFile, '--tls-client-auth'],
        'loghour-server: invalid combination: --tls-ca applies to a TLS input; add --tls-cert and --tls-key\n',
      ],
      [
        [...serveTls(serverCert), '--tls-client-auth'],
        'loghour-server: invalid combination: --tls-client-auth needs --tls-ca (LOGHOUR_TLS_CA), the CA that signs the client certificates\n',
      ],
      [
        [...serveTls(serverCert), '--tls-ca', ca.certFile],
        'loghour-server: invalid combination: --tls-ca says which client certificates are accepted; add --tls-client-auth (LOGHOUR_TLS_CLIENT_AUTH) to require them\n',
      ],
      [
        ['--tls-cert', '/nonexistent.pem', '--tls-key', serverCert.keyFile],
        /^loghour-server: cannot read the TLS cert file \/nonexistent\.pem: ENOENT/,
      ],
      [
        ['--tls-cert', serverCert.certFile, '--tls-key', client.keyFile],
        /^loghour-server: cannot use the TLS certificate: .*key values mismatch/,
      ],
    ]
    for (const [args, expected] of cases) {
      const result = await run('loghour-server.js', ['--port', '0', ...args], undefined, env)
      expect(result.code, args.join(' ')).toBe(2)
      if (typeof expected === 'string') expect(result.stderr).toBe(expected)
      else expect(result.stderr).toMatch(expected)
      expect(result.stderr.split('\n')).toHaveLength(2)
    }
    const viaEnv = await run('loghour-server.js', ['--port', '0'], undefined, {
      env: cleanEnv({ LOGHOUR_TLS_KEY: serverCert.keyFile }),
    })
    expect(viaEnv.stderr).toBe('loghour-server: invalid combination: LOGHOUR_TLS_KEY needs its pair (--tls-cert with --tls-key)\n')
    const half = await run('loghour.js', ['send', '--tls', '--cert', client.certFile, '-'], '', env)
    expect([half.code, half.stderr]).toEqual([2, 'loghour: --cert needs its pair (--cert with --key)\n'])
    const noTls = await run('loghour.js', ['send', '--ca', ca.certFile, '-'], '', env)
    expect([noTls.code, noTls.stderr]).toEqual([2, 'loghour: --ca applies with --tls\n'])
  })
})

describe('the library: listen({ tls }) and reloadTls()', () => {
  const ca = certificateAuthority()
  const [serverCert, client] = [ca.issue('server'), ca.issue('client')]
  const key = (c: { keyFile: string }) => readFileSync(c.keyFile, 'utf8')

  it('checks the TLS option like every other, and a reload that would not work changes nothing', async () => {
    const consumer = createConsumer()
    const refuse = async (tls: unknown, pattern: RegExp) => {
      const error = await consumer.listen({ port: 0, tls } as never).then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(OptionError)
      expect((error as Error).message).toMatch(pattern)
    }
    await refuse({ cert: serverCert.cert }, /^loghour: invalid option "tls\.key": expected a PEM string/)
    await refuse({ cert: serverCert.cert, key: key(serverCert), clientAuth: true }, /clientAuth needs ca/)
    await refuse({ cert: serverCert.cert, key: key(serverCert), ca: ca.cert }, /ca applies with clientAuth: true/)
    await refuse({ cert: serverCert.cert, key: key(client) }, /^loghour: invalid option "tls": .*key values mismatch/)
    await refuse({ cert: serverCert.cert, key: key(serverCert), pfx: 'x' }, /unknown option "tls\.pfx"/)

    const server = await consumer.listen({ port: 0, tls: { cert: serverCert.cert, key: key(serverCert), ca: ca.cert, clientAuth: true } })
    expect(() => server.reloadTls({ cert: serverCert.cert, key: key(serverCert) })).toThrow(/clientAuth cannot change/)
    expect(() => server.reloadTls({ cert: serverCert.cert, key: key(client), ca: ca.cert, clientAuth: true })).toThrow(OptionError)
    // Still serving with the first material: a trusted client's line counts.
    const socket = connectTls({
      port: server.address().port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: ca.cert,
      cert: client.cert,
      key: key(client),
    })
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    await new Promise<void>((resolve) => socket.end('{"time":"2026-11-23 12:00:00","ip":"lib","status_code":500}\n', resolve))
    await new Promise((resolve) => socket.once('close', resolve))
    expect((await consumer.stats()).hours[12]).toBe(1)
    await server.close()
    await consumer.close()

    const plain = createConsumer()
    const plainServer = await plain.listen({ port: 0 })
    expect(() => plainServer.reloadTls({ cert: serverCert.cert, key: key(serverCert) })).toThrow(/started without TLS/)
    await plainServer.close()
    await plain.close()
  })
})
