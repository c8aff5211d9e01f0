// loghour-server settings (flags > environment > .env > defaults, original names), their error
// messages and --help; and the `loghour send` / `loghour stats` clients.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { envNames, resolveServerSettings, SettingError } from '../src/config.js'
import { FLAG_SETTINGS as SETTINGS } from '../src/settings.js'
import { run } from './helpers/cli.js'
import { freePort, skipRedis, useRedis } from './helpers/redis.js'
import { cleanEnv, sendTcp, startServer } from './helpers/server.js'

describe('settings precedence', () => {
  it('defaults are the original service’s', () => {
    const { settings, sources } = resolveServerSettings({}, {}, {})
    expect(settings).toMatchObject({
      host: '127.0.0.1',
      port: 2525,
      redis: undefined,
      keyPrefix: 'error_hour_',
      statsIntervalMs: 60_000,
      maxLineBytes: 65536,
      logLevel: 'info',
      logFile: undefined,
    })
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']))
  })

  it('flag beats environment beats .env beats default, per setting', () => {
    const { settings, sources } = resolveServerSettings(
      { port: '1001' },
      { SERVER_PORT: '1002', SERVER_HOST: '0.0.0.0', LOG_LEVEL: 'WARNING' },
      { SERVER_PORT: '1003', SERVER_HOST: '::1', REDIS_HOUR_KEY_PREFIX: 'from_dotenv_', REDIS_ADDRESS: 'redis-host:6380' },
    )
    expect(settings).toMatchObject({
      port: 1001,
      host: '0.0.0.0',
      keyPrefix: 'from_dotenv_',
      redis: 'redis://redis-host:6380',
      logLevel: 'warn',
    })
    expect(sources).toMatchObject({ port: 'flag', host: 'environment', keyPrefix: '.env', redis: '.env', statsIntervalMs: 'default' })
  })

  it('an empty REDIS_ADDRESS means the memory store, as before', () => {
    expect(resolveServerSettings({}, { REDIS_ADDRESS: '' }, {}).settings.redis).toBeUndefined()
  })

  // `--ingest-token "$TOKEN"` with TOKEN unset must not serve /ingest to everyone.
  const security = SETTINGS.filter((s) => s.security === true)
  it('the security settings are the token and every certificate, key and CA', () => {
    expect(security.map((s) => s.env).sort()).toEqual(
      [
        'LOGHOUR_INGEST_TOKEN',
        'LOGHOUR_INGEST_ORIGINS',
        'LOGHOUR_HTTP_TLS_CERT',
        'LOGHOUR_HTTP_TLS_KEY',
        'LOGHOUR_TLS_CERT',
        'LOGHOUR_TLS_KEY',
        'LOGHOUR_TLS_CA',
        'REDIS_TLS_CA',
        'REDIS_TLS_CERT',
        'REDIS_TLS_KEY',
        'LOGHOUR_KAFKA_CA',
        'LOGHOUR_KAFKA_CERT',
        'LOGHOUR_KAFKA_KEY',
        'LOGHOUR_KAFKA_SASL',
        'LOGHOUR_KAFKA_USERNAME',
      ].sort(),
    )
  })
  it.each(security.map((s) => [s.env, s] as const))(
    'an empty %s is an error, never "off", from a flag, the environment or .env',
    (env, s) => {
      const why = 'is empty (from the environment): a security setting is never turned off by an empty value; unset it, or give a value'
      expect(() => resolveServerSettings({}, { [env]: '' }, {})).toThrow(`${env} ${why}`)
      expect(() => resolveServerSettings({}, {}, { [env]: '' })).toThrow(`${env} is empty (from .env)`)
      expect(() => resolveServerSettings({ [s.key]: '' }, {}, {})).toThrow(`${s.flag} is empty: a security setting`)
    },
  )

  it('a token a client could not send as configured (non-ASCII, spaces) is refused at start', () => {
    for (const token of ['tökén', 'two words', 'a=b', 'x'.repeat(4097)]) {
      expect(() => resolveServerSettings({ ingestToken: token }, {}, {}), token).toThrow(
        /invalid --ingest-token "\*\*\*": expected a token/,
      )
    }
    for (const token of ['s3cret-token', 'a.b_c~d+e/f==', 'x'.repeat(4096)]) {
      expect(resolveServerSettings({ ingestToken: token, http: '127.0.0.1:0' }, {}, {}).settings.ingestToken).toBe(token)
    }
  })

  const bad: Record<string, string> = {
    SERVER_HOST: '',
    SERVER_PORT: '65536',
    SERVER_BUFFER_LIMIT_SIZE: '10',
    REDIS_ADDRESS: 'http://x',
    REDIS_HOUR_KEY_PREFIX: 'a}b',
    REDIS_HOUR_STATS_INTERVAL: '-1',
    LOG_LEVEL: 'loud',
    LOGHOUR_FLUSH_INTERVAL_MS: '1.5',
    LOGHOUR_REDIS_TIMEOUT_MS: 'soon',
    LOGHOUR_MAX_CONNECTIONS: '0',
    LOGHOUR_IDLE_TIMEOUT: '1e3',
    LOGHOUR_DRAIN_TIMEOUT: '3601',
    LOGHOUR_CLOSE_TIMEOUT: '-5',
    LOGHOUR_MAX_BUFFERED_BYTES: '64MB',
    LOG_FILENAME: 'logs/consumer_{date}.log',
    LOG_FILE_ROTATION: '500 apples',
    LOG_FILE_RETENTION: 'all',
    LOGHOUR_LOG_FORMAT: 'xml',
    LOGHOUR_FORMAT: 'nginx',
    LOGHOUR_PORTABLE_READS: 'maybe',
    LOGHOUR_TLS_CLIENT_AUTH: 'required',
    LOGHOUR_SCHEMA: 'ecss',
    LOGHOUR_FIELDS: 'when=ts',
    LOGHOUR_TIME_UNIT: 'hours',
    LOGHOUR_TIMEZONE: 'Europe/Berln',
    LOGHOUR_SOURCE_TIMEZONE: 'Mars/Olympus',
    LOGHOUR_ENVELOPE: 'x'.repeat(300),
    LOGHOUR_FRAMING: 'ndjson',
    LOGHOUR_HTTP: '9464',
    LOGHOUR_OTLP_GRPC: '4317',
    REDIS_CLUSTER_NODES: 'redis://h:1,rediss://h:2',
    LOGHOUR_MIN_REPLICAS: 'one',
    LOGHOUR_DAILY: 'sometimes',
    LOGHOUR_RETAIN_DAYS: '0',
    LOGHOUR_MAX_BODY: '16MiB',
    LOGHOUR_INGEST_TOKEN: 'two words',
    LOGHOUR_INGEST_ACK: 'stored',
    LOGHOUR_INGEST_ORIGINS: 'https://a.example/path',
    LOGHOUR_ALL_USERS: 'everyone',
    LOGHOUR_USERS_KEY_PREFIX: 'user}_',
    LOGHOUR_MIN_USERS: '0',
    LOGHOUR_GROUP_BY: 'x'.repeat(600),
    LOGHOUR_MAX_GROUPS: '0',
    LOGHOUR_TOP: '1001',
    LOGHOUR_KAFKA_BROKERS: 'kafka.internal',
    LOGHOUR_KAFKA_TOPICS: 'access logs',
    LOGHOUR_KAFKA_GROUP: 'g'.repeat(250),
    LOGHOUR_KAFKA_FROM: 'beginning',
    LOGHOUR_KAFKA_TLS: 'maybe',
    LOGHOUR_KAFKA_SASL: 'gssapi',
    LOGHOUR_KAFKA_USERNAME: 'u'.repeat(256),
  }

  it.each(SETTINGS.filter((s) => s.env in bad).map((s) => [s.env, s] as const))(
    'a bad %s names the setting, the value, where it came from and what is accepted',
    (env, s) => {
      const value = bad[env]!
      // A secret that is not an address is never shown.
      const shown = s.redact && !value.includes('://') ? '"***"' : JSON.stringify(value)
      expect(() => resolveServerSettings({}, { [env]: value }, {})).toThrow(SettingError)
      expect(() => resolveServerSettings({}, { [env]: value }, {})).toThrow(
        `invalid ${env} ${shown} (from the environment): expected ${s.accepts}`,
      )
      expect(() => resolveServerSettings({}, {}, { [env]: value })).toThrow(`(from .env)`)
      expect(() => resolveServerSettings({ [s.key]: value }, {}, {})).toThrow(`invalid ${s.flag} ${shown}: expected`)
    },
  )

  it('every setting with a possible bad value is covered above', () => {
    const free = [
      'LOGHOUR_SNAPSHOT',
      'REDIS_TLS_CA',
      'REDIS_TLS_CERT',
      'REDIS_TLS_KEY',
      'LOGHOUR_TLS_CERT',
      'LOGHOUR_TLS_KEY',
      'LOGHOUR_HTTP_TLS_CERT',
      'LOGHOUR_HTTP_TLS_KEY',
      'LOGHOUR_TLS_CA',
      'LOGHOUR_KAFKA_CA',
      'LOGHOUR_KAFKA_CERT',
      'LOGHOUR_KAFKA_KEY',
    ] // any path is accepted
    expect(
      SETTINGS.map((s) => s.env)
        .filter((e) => !free.includes(e))
        .sort(),
    ).toEqual(Object.keys(bad).sort())
  })

  it('snapshot and Redis together are refused', () => {
    expect(() => resolveServerSettings({ snapshot: 'x' }, { REDIS_ADDRESS: 'localhost' }, {})).toThrow(
      'invalid combination: --snapshot applies to the in-memory store, but Redis is set (REDIS_ADDRESS); drop one',
    )
  })

  it('one Redis or one Redis Cluster; TLS files need rediss:// nodes', () => {
    expect(() => resolveServerSettings({ redisCluster: 'h:7000' }, { REDIS_ADDRESS: 'localhost' }, {})).toThrow(
      'invalid combination: REDIS_ADDRESS and --redis-cluster both name the store; give one',
    )
    expect(() => resolveServerSettings({ redisCluster: 'h:7000', snapshot: 'x' }, {}, {})).toThrow(
      'invalid combination: --snapshot applies to the in-memory store, but a Redis Cluster is set; drop one',
    )
    expect(() => resolveServerSettings({ redisCluster: 'h:7000,h:7001', redisCa: 'ca.pem' }, {}, {})).toThrow(
      'invalid combination: --redis-ca applies to a rediss:// Redis address (TLS), but the address is not rediss://',
    )
    const { settings } = resolveServerSettings({ redisCluster: 'rediss://u:p@h:7000, h:7001', redisCa: 'ca.pem' }, {}, {})
    expect(settings.redisCluster).toEqual(['rediss://u:p@h:7000', 'h:7001'])
    expect(() => resolveServerSettings({ redisCluster: 'redis://u:p@h:1,redis://v:p@h:2' }, {}, {})).toThrow(
      'invalid --redis-cluster "redis://***@h:2": expected',
    )
  })
})

describe('loghour-server command line', () => {
  it('an empty security setting is a one-line error and exit code 2, whichever way it is given', async () => {
    const env = await run('loghour-server.js', ['--http', '127.0.0.1:0'], undefined, { env: cleanEnv({ LOGHOUR_INGEST_TOKEN: '' }) })
    expect(env.code).toBe(2)
    expect(env.stderr).toBe(
      'loghour-server: LOGHOUR_INGEST_TOKEN is empty (from the environment): a security setting is never turned off by an empty value; unset it, or give a value\n',
    )
    const flag = await run('loghour-server.js', ['--http', '127.0.0.1:0', '--http-tls-cert', '', '--http-tls-key', ''], undefined, {
      env: cleanEnv(),
    })
    expect(flag.code).toBe(2)
    expect(flag.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a bad setting is a one-line error and exit code 2', async () => {
    const r = await run('loghour-server.js', [], undefined, { env: cleanEnv({ SERVER_PORT: 'http' }) })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('loghour-server: invalid SERVER_PORT "http" (from the environment): expected an integer from 0 to 65535\n')
    const flag = await run('loghour-server.js', ['--log-level', 'chatty'], undefined, { env: cleanEnv() })
    expect(flag.code).toBe(2)
    expect(flag.stderr.trim().split('\n')).toHaveLength(1)
    const unknown = await run('loghour-server.js', ['--prot', '1'], undefined, { env: cleanEnv() })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("unknown option '--prot'")
  })

  it('an unknown zone, schema or format names it, what is accepted and the close match (exit 2)', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [
        ['--timezone', 'Europe/Berln'],
        {},
        'loghour-server: invalid --timezone "Europe/Berln": expected an IANA time zone name such as Europe/Berlin or America/New_York, or UTC (did you mean Europe/Berlin?)\n',
      ],
      [
        [],
        { LOGHOUR_SCHEMA: 'pino' },
        'loghour-server: invalid LOGHOUR_SCHEMA "pino" (from the environment): expected one of original, ecs, caddy, pino-http, traefik, gcp (did you mean pino-http?)\n',
      ],
      [['--format', 'jsn'], {}, 'loghour-server: invalid --format "jsn": expected auto, json or clf (did you mean json?)\n'],
      [
        [],
        { LOGHOUR_SOURCE_TIMEZONE: 'UTC' },
        'loghour-server: invalid combination: LOGHOUR_SOURCE_TIMEZONE needs --timezone (LOGHOUR_TIMEZONE), the zone times are converted to\n',
      ],
      [
        ['--framing', 'json-stream', '--format', 'clf'],
        {},
        'loghour-server: invalid combination: --framing json-stream frames JSON values, but --format is clf; add --envelope FIELD, or use lines\n',
      ],
    ]
    for (const [args, env, stderr] of cases) {
      const r = await run('loghour-server.js', args, undefined, { env: cleanEnv(env) })
      expect(r.stderr, args.join(' ')).toBe(stderr)
      expect(r.code).toBe(2)
    }
  })

  it('reading settings from flags and the environment, --field repeated', () => {
    const { settings } = resolveServerSettings(
      { fields: 'ip=source.address,time=timestamp', framing: 'json-stream' },
      { LOGHOUR_SCHEMA: 'ECS', LOGHOUR_TIMEZONE: 'europe/berlin', LOGHOUR_TIME_UNIT: 'MS', LOGHOUR_ENVELOPE: 'message' },
      { LOGHOUR_FIELDS: 'status=code' },
    )
    expect(settings).toMatchObject({
      schema: 'ecs',
      fields: { ip: 'source.address', time: 'timestamp' },
      timezone: 'europe/berlin',
      timeUnit: 'ms',
      envelope: 'message',
      framing: 'json-stream',
    })
    expect(() => resolveServerSettings({}, { LOGHOUR_FIELDS: 'ip=' }, {})).toThrow('expected time=PATH, ip=PATH or status=PATH')
  })

  it('--help shows every flag with its environment name and default', async () => {
    const r = await run('loghour-server.js', ['--help'], undefined, { env: cleanEnv() })
    expect(r.code).toBe(0)
    const help = r.stdout.toString().replace(/\s+/g, ' ')
    for (const s of SETTINGS) {
      expect(help).toContain(s.arg ? `${s.flag} ${s.arg}` : s.flag)
      expect(help).toContain(`[env ${envNames(s)}; default ${s.shown}]`)
    }
  })

  it('the address comes from the flag, else the environment, else .env', async () => {
    // Three loopback addresses tell the sources apart; every server picks its own port (0).
    const cwd = mkdtempSync(join(tmpdir(), 'loghour-env-'))
    writeFileSync(join(cwd, '.env'), '# settings\nSERVER_HOST=127.0.0.2\nREDIS_HOUR_STATS_INTERVAL=0\n')
    const hostOf = async (args: string[], env: Record<string, string>) => {
      const server = await startServer(args, env, { cwd })
      const listening = server.logs.find((r) => r.msg.startsWith('loghour-server listening'))!
      expect(await server.stop()).toBe(0)
      return listening.address
    }
    expect(await hostOf([], { SERVER_HOST: '127.0.0.3' })).toBe('127.0.0.3')
    expect(await hostOf([], {})).toBe('127.0.0.2')
    expect(await hostOf(['--host', '127.0.0.4'], { SERVER_HOST: '127.0.0.3' })).toBe('127.0.0.4')
  })

  it('a second signal exits at once', async () => {
    const server = await startServer(['--drain-timeout', '30'])
    const { open } = await import('./helpers/server.js')
    const socket = await open(server.port)
    socket.on('error', () => {})
    socket.write('{"partial":') // keeps the connection busy: a drain would wait
    const interval = setInterval(() => socket.write(' '), 50)
    server.child.kill('SIGINT')
    await server.waitForLog((r) => r.msg.startsWith('SIGINT: no new connections'), 0)
    const code = await server.stop('SIGINT')
    clearInterval(interval)
    socket.destroy()
    expect(code).toBe(130)
  })
})

describe('loghour send', () => {
  it('cannot connect: a clear message and exit code 1', async () => {
    const port = await freePort()
    const r = await run('loghour.js', ['send', '--port', String(port)], 'x\n', { env: cleanEnv() })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`loghour: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`)
  })

  it('the connection drops: a clear message and exit code 1', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    const r = await run('loghour.js', ['send', '--port', String(port)], Buffer.alloc(64 * 1024 * 1024, 'x\n'), { env: cleanEnv() })
    server.close()
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^loghour: connection to 127.0.0.1:${port} lost after \\d+ bytes: `))
  })

  it('checks every input before sending anything: a missing second file sends nothing', async () => {
    const server = await startServer(['--stats-interval', '0'])
    const dir = mkdtempSync(join(tmpdir(), 'loghour-send-'))
    writeFileSync(join(dir, 'a.log'), '{"time":"2019-05-06 17:24:53","ip":"a","status_code":500}\n')
    const r = await run('loghour.js', ['send', '--port', String(server.port), join(dir, 'a.log'), join(dir, 'missing.log')], undefined, {
      env: cleanEnv(),
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^loghour: cannot read .*missing\.log: ENOENT: no such file or directory, open .*\n$/)
    await server.stop()
    expect(server.logs.find((l) => l.msg.startsWith('stopped'))).toMatchObject({ accepted: 0 })
  })

  it('reads SERVER_HOST and SERVER_PORT from .env too, like the server', async () => {
    const server = await startServer(['--stats-interval', '0'])
    const cwd = mkdtempSync(join(tmpdir(), 'loghour-send-env-'))
    writeFileSync(join(cwd, '.env'), `SERVER_PORT=${server.port}\n`)
    const r = await run('loghour.js', ['send'], '{"time":"2019-05-06 17:24:53","ip":"a","status_code":500}\n', { env: cleanEnv(), cwd })
    expect(r.code).toBe(0)
    await server.stop()
    expect(server.lastHours()![17]).toBe(1)
    const bad = await run('loghour.js', ['send'], 'x\n', { env: cleanEnv({ SERVER_PORT: 'http' }), cwd })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('loghour: invalid SERVER_PORT "http" (from the environment): expected an integer from 0 to 65535\n')
  })

  it('usage errors are one line, exit code 2', async () => {
    for (const args of [['send', '--prot', '1'], ['analyze', '--max-line-bytes', 'x'], ['nosuchcommand'], ['stats']]) {
      const r = await run('loghour.js', args, undefined, { env: cleanEnv() })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1)
      expect(r.stderr).toMatch(/^loghour: /)
    }
  })

  it('uses SERVER_HOST and SERVER_PORT like the original client', async () => {
    const server = await startServer(['--stats-interval', '0'])
    const r = await run('loghour.js', ['send'], '{"time":"2019-05-06 17:24:53","ip":"a","status_code":500}', {
      env: cleanEnv({ SERVER_PORT: String(server.port) }),
    })
    expect(r.code).toBe(0)
    // The summary: one line (without its newline), 57 bytes.
    expect(r.stderr).toMatch(/^sent 1 line \(57 bytes, 0\.1 kB\) to 127\.0\.0\.1:\d+ in \d+\.\d\d s\n$/)
    await server.stop()
    expect(server.lastHours()![17]).toBe(1) // the last line had no newline and still counted
  })
})

describe.skipIf(skipRedis())('loghour stats', () => {
  const redis = useRedis()

  it('prints the answer from Redis, fed by two servers', async () => {
    const env = { REDIS_ADDRESS: redis.url, REDIS_HOUR_KEY_PREFIX: 'two_' }
    const [s1, s2] = await Promise.all([startServer([], env), startServer([], env)])
    await sendTcp(
      s1.port,
      Buffer.from('{"time":"2019-05-06 17:00:00","ip":"a","status_code":500}\n{"time":"2019-05-06 09:00:00","ip":"a","status_code":500}\n'),
    )
    await sendTcp(
      s2.port,
      Buffer.from('{"time":"2019-05-06 17:30:00","ip":"a","status_code":503}\n{"time":"2019-05-06 17:00:00","ip":"b","status_code":500}\n'),
    )
    await Promise.all([s1.stop(), s2.stop()])
    const r = await run('loghour.js', ['stats', '--json'], undefined, { env: cleanEnv(env) })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout.toString())).toEqual({
      hours: Array.from({ length: 24 }, (_, h) => (h === 17 ? 2 : h === 9 ? 1 : 0)),
      peakHour: 17,
      peakUsers: 2,
    })
    const human = await run('loghour.js', ['stats', '--redis', redis.url, '--key-prefix', 'two_'], undefined, { env: cleanEnv() })
    expect(human.stdout.toString()).toContain('Peak hour: 17:00–17:59, 2 distinct users')
  })

  it('Redis unreachable: exit code 1 and a clear message', async () => {
    const port = await freePort()
    const r = await run('loghour.js', ['stats', '--redis', `127.0.0.1:${port}`], undefined, { env: cleanEnv() })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `loghour: cannot read the hour keys: Redis at redis://127.0.0.1:${port} is unreachable: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    )
  })

  it('hour keys holding something else: exit code 1, and the message names every one of them', async () => {
    await redis.client().set('bad_5', 'text')
    await redis.client().set('bad_7', 'more text')
    const r = await run('loghour.js', ['stats', '--redis', redis.url, '--key-prefix', 'bad_'], undefined, { env: cleanEnv() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('bad_5, bad_7 hold values that are not HyperLogLogs; delete or rename them (WRONGTYPE')
  })

  it('reads REDIS_ADDRESS and the key prefix from .env too (REDIS_KEY_PREFIX as the original did)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'loghour-stats-env-'))
    await redis.client().pfadd('envpfx_17', 'x')
    writeFileSync(join(cwd, '.env'), `REDIS_ADDRESS=${redis.url}\nREDIS_KEY_PREFIX=envpfx_\n`)
    const r = await run('loghour.js', ['stats', '--json'], undefined, { env: cleanEnv(), cwd })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout.toString()).peakHour).toBe(17)
  })
})
