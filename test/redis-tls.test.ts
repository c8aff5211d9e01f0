// TLS to Redis: a real redis-server serving TLS only and requiring client certificates
// (openssl-made, never committed); loghour-server and `loghour stats` reach it with --redis-ca,
// --redis-cert and --redis-key, and without the client certificate they are refused.
import { describe, expect, it } from 'vitest'
import { run } from './helpers/cli.js'
import { pfcounts, skipRedis, startRedis, startRedisCluster } from './helpers/redis.js'
import { cleanEnv, eventually, sendTcp, startServer } from './helpers/server.js'
import { selfSignedCertificate } from './helpers/tls.js'

describe.skipIf(skipRedis())('rediss:// with a CA and a client certificate', () => {
  it('the server merges and `loghour stats` reads over mutual TLS; no certificate, no access', async () => {
    const certificate = selfSignedCertificate()
    const redis = await startRedis({ tls: certificate, clientAuth: true })
    try {
      const tlsFlags = ['--redis-ca', certificate.certFile, '--redis-cert', certificate.certFile, '--redis-key', certificate.keyFile]
      const server = await startServer(['--redis', redis.url, '--flush-interval', '50', ...tlsFlags])
      await sendTcp(
        server.port,
        Buffer.from(
          '{"time":"2026-11-23 09:15:00","ip":"a","status_code":503}\n{"time":"2026-11-23 09:16:00","ip":"b","status_code":500}\n',
        ),
      )
      await eventually(async () => (await pfcounts(redis, 'error_hour_'))[9] === 2, 10_000, 'the merge over TLS')
      const env = { env: cleanEnv() }
      const stats = await run('loghour.js', ['stats', '--json', '--redis', redis.url, ...tlsFlags], undefined, env)
      expect(stats.stderr).toBe('')
      expect(JSON.parse(stats.stdout.toString())).toMatchObject({ peakHour: 9, peakUsers: 2 })
      // Trusting the server is not enough when Redis wants a client certificate.
      const anonymous = await run('loghour.js', ['stats', '--redis', redis.url, '--redis-ca', certificate.certFile], undefined, env)
      expect(anonymous.code).toBe(1)
      expect(anonymous.stderr).toMatch(/^loghour: cannot read the hour keys: Redis at rediss:\/\/127\.0\.0\.1:\d+ is unreachable/)
      expect(await server.stop()).toBe(0)
    } finally {
      await redis.stop()
    }
  })

  it('a Redis Cluster over TLS with a password: --redis-cluster rediss://:password@node, --redis-ca', async () => {
    const certificate = selfSignedCertificate()
    const cluster = await startRedisCluster(3, 0, 2000, { tls: certificate, password: 'cluster secret' })
    try {
      const nodes = `rediss://:${encodeURIComponent('cluster secret')}@127.0.0.1:${cluster.ports[0]}`
      const server = await startServer(['--redis-cluster', nodes, '--redis-ca', certificate.certFile, '--flush-interval', '50'])
      expect(server.logs.find((r) => r.msg.startsWith('loghour-server listening'))!.msg).toMatch(
        /Redis Cluster rediss:\/\/\*\*\*@127\.0\.0\.1:\d+/,
      )
      const lines = Array.from(
        { length: 24 },
        (_, h) => `{"time":"2026-11-23 ${String(h).padStart(2, '0')}:15:00","ip":"u${h}","status_code":503}`,
      )
      await sendTcp(server.port, Buffer.from(`${lines.join('\n')}\n`))
      const env = { env: cleanEnv() }
      const read = () =>
        run('loghour.js', ['stats', '--json', '--redis-cluster', nodes, '--redis-ca', certificate.certFile], undefined, env)
      await eventually(
        async () => JSON.parse((await read()).stdout.toString() || '{}').hours?.every((n: number) => n === 1),
        10_000,
        'every hour merged over TLS',
      )
      expect(await server.stop()).toBe(0)
      expect(server.stderr()).toBe('')
      const wrong = await run(
        'loghour.js',
        ['stats', '--redis-cluster', nodes.replace('cluster%20secret', 'nope'), '--redis-ca', certificate.certFile],
        undefined,
        env,
      )
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).not.toContain('nope')
    } finally {
      await cluster.stop()
    }
  }, 60_000)

  it('TLS files need a rediss:// address, and a certificate its key (exit 2)', async () => {
    const env = { env: cleanEnv() }
    const plain = await run('loghour-server.js', ['--redis', 'redis://127.0.0.1:1', '--redis-ca', '/nonexistent'], undefined, env)
    expect(plain.code).toBe(2)
    expect(plain.stderr).toBe(
      'loghour-server: invalid combination: --redis-ca applies to a rediss:// Redis address (TLS), but the address is not rediss://\n',
    )
    const half = await run('loghour-server.js', ['--redis', 'rediss://127.0.0.1:1', '--redis-cert', '/x.pem'], undefined, env)
    expect(half.code).toBe(2)
    expect(half.stderr).toBe('loghour-server: invalid combination: --redis-cert needs its pair (--redis-cert with --redis-key)\n')
    const unreadable = await run('loghour-server.js', ['--redis', 'rediss://127.0.0.1:1', '--redis-ca', '/nonexistent.pem'], undefined, env)
    expect(unreadable.code).toBe(2)
    expect(unreadable.stderr).toMatch(/^loghour-server: cannot read the Redis TLS ca file \/nonexistent\.pem: ENOENT/)
  })
})
