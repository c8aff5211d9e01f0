// The server's log: the original service's `.env` logs where the original logged (loguru's file
// name placeholders and rotation), an unusable log file or a closed pipe is one clear line, and
// people at a terminal read human lines.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { LogFile } from '../src/log-file.js'
import { fillTemplate, formatTime, parseRotation } from '../src/log-names.js'
import { bin, run } from './helpers/cli.js'
import { pfcounts, skipRedis, useRedis } from './helpers/redis.js'
import { cleanEnv, eventually, sendTcp } from './helpers/server.js'
import { LIBFAKETIME, missing, pinnedClock } from './helpers/tools.js'

const reference = readFileSync(join(__dirname, 'fixtures/reference-12.log'))

/** The original service's `.env.example`, byte for byte. */
const ORIGINAL_DOTENV = `SERVER_HOST=0.0.0.0
SERVER_PORT=2525
SERVER_TEST_PORT=2222
SERVER_BUFFER_LIMIT_SIZE=65536

REDIS_ADDRESS=redis://localhost/0
REDIS_HOUR_KEY_PREFIX=error_hour_
REDIS_HOUR_STATS_INTERVAL=60

LOG_LEVEL=INFO
LOG_FILENAME=logs/consumer_{time:YYYY-MM-DD}.log
`

/** "Now", pinned with libfaketime (the clock runs on from there); UTC so file names are known. */
const FAKE_NOW = '2026-11-23 09:00:00'

/**
 * Starts loghour-server in `cwd` at the pinned time; resolves once it accepts connections (its
 * log goes to a file, so readiness is a successful connection).
 */
async function startPinned(cwd: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [bin('loghour-server.js'), ...args], {
    cwd,
    env: cleanEnv({ TZ: 'UTC', ...pinnedClock(FAKE_NOW), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  onTestFinished(() => void child.kill('SIGKILL'))
  // It logs to its file: the port it picked (--port 0) is in the listening line there.
  let port = 0
  const listening = () => {
    const dir = join(cwd, 'logs')
    const text = existsSync(dir)
      ? readdirSync(dir)
          .map((f) => readFileSync(join(dir, f), 'utf8'))
          .join('')
      : ''
    port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0)
    return port > 0
  }
  await eventually(listening, 10_000, 'the listening line in the log file')
  const stop = () => {
    child.kill('SIGTERM')
    return exited
  }
  return { port, stop, stdout: () => stdout, stderr: () => stderr }
}

describe.skipIf(skipRedis() || missing('libfaketime (apt-get install faketime)', LIBFAKETIME !== undefined))(
  "the original service's .env",
  () => {
    const redis = useRedis()

    it('starts loghour-server, which logs to logs/consumer_<date>.log and reads REDIS_KEY_PREFIX as the original did', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'loghour-original-'))
      writeFileSync(join(cwd, '.env'), ORIGINAL_DOTENV)
      // Flags and the environment override what must not be fixed in a test (port, Redis).
      const server = await startPinned(cwd, ['--port', '0', '--host', '127.0.0.1'], {
        REDIS_ADDRESS: redis.url,
        REDIS_KEY_PREFIX: 'quirk_',
      })
      const { port } = server
      await sendTcp(port, reference)
      expect(await server.stop()).toBe(0)
      expect(server.stdout()).toBe('')
      expect(server.stderr()).toBe('')
      expect(readdirSync(join(cwd, 'logs'))).toEqual(['consumer_2026-11-23.log'])
      const text = readFileSync(join(cwd, 'logs', 'consumer_2026-11-23.log'), 'utf8')
      expect(text).toContain(`loghour-server listening on 127.0.0.1:${port}`)
      expect(text).toContain('Current hour with maximum number of errors 17')
      expect(await pfcounts(redis, 'quirk_')).toEqual(Array.from({ length: 24 }, (_, h) => (h === 16 ? 1 : h === 17 ? 4 : 0)))
    })

    it('LOG_FILE_ROTATION rotates the file as loguru did, LOG_FILE_RETENTION keeps the newest', async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'loghour-rotate-'))
      writeFileSync(join(cwd, '.env'), `${ORIGINAL_DOTENV}LOG_FILE_ROTATION=2 KB\nLOG_FILE_RETENTION=3\nLOG_LEVEL=debug\n`)
      const server = await startPinned(cwd, ['--port', '0', '--host', '127.0.0.1'], { REDIS_ADDRESS: redis.url })
      for (let i = 0; i < 60; i++) await sendTcp(server.port, reference) // a debug line per connection: ~12 KB of log
      expect(await server.stop()).toBe(0)
      const files = readdirSync(join(cwd, 'logs')).sort()
      const rotated = files.filter((f) => f !== 'consumer_2026-11-23.log')
      expect(files).toContain('consumer_2026-11-23.log')
      expect(rotated).toHaveLength(3)
      for (const f of rotated) {
        expect(f).toMatch(/^consumer_2026-11-23\.2026-11-23_09-0\d-\d\d_\d{6}(\.\d+)?\.log$/)
        // Rotated once past the limit, never empty: lines still in the asynchronous writer's buffer
        // at a rotation land in the new file, and a rotation waits until the last one's file is
        // open (under load a few KB more: the lines logged meanwhile).
        expect(statSync(join(cwd, 'logs', f)).size).toBeGreaterThan(0)
        expect(statSync(join(cwd, 'logs', f)).size).toBeLessThan(2000 * 5)
      }
    })
  },
)

describe('the log file', () => {
  it('never rotates a file still being opened, and flush waits for every line written: none is lost, no rotated file is empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-fast-rotate-'))
    const file = new LogFile({
      template: join(dir, 'x.log'),
      rotation: { bytes: 2000 },
      retention: 0,
      onError: (e) => expect.fail(e.message),
    })
    await new Promise<void>((resolve) => file.flush(() => resolve()))
    // All in one tick: the first rotation's new file cannot be open before the next lines come.
    for (let i = 0; i < 20; i++) file.write(`${'x'.repeat(999)}\n`)
    await new Promise<void>((resolve) => file.flush(() => resolve()))
    const files = readdirSync(dir)
    expect(files.length).toBeGreaterThan(1)
    for (const f of files) expect(statSync(join(dir, f)).size, f).toBeGreaterThan(0)
    expect(files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0)).toBe(20 * 1000)
  })
})

describe('loguru file names and rotation settings', () => {
  const date = new Date(Date.UTC(2026, 10, 23, 9, 5, 7, 123)) // a Monday

  it('formats loguru tokens', () => {
    expect(formatTime('YYYY-MM-DD HH:mm:ss.SSS!UTC', date)).toBe('2026-11-23 09:05:07.123')
    expect(formatTime('YY/M/D H:m:s SSSSSS!UTC', date)).toBe('26/11/23 9:5:7 123000')
    expect(formatTime('dddd ddd d E MMMM MMM Q DDDD DDD!UTC', date)).toBe('Monday Mon 1 1 November Nov 4 327 327')
    expect(formatTime('hh:mm A [at] X!UTC', date)).toBe(`09:05 AM at ${Math.floor(date.getTime() / 1000)}`)
    expect(formatTime('ZZ Z zz!UTC', date)).toBe('+0000 +00:00 UTC')
  })

  it('fills {time} and {time:FORMAT}, keeps {{ and }}, refuses other placeholders', () => {
    const local = (f: string) => formatTime(f, date)
    expect(fillTemplate('logs/consumer_{time:YYYY-MM-DD}.log', date)).toBe(`logs/consumer_${local('YYYY-MM-DD')}.log`)
    expect(fillTemplate('x_{time}.log', date)).toBe(`x_${local('YYYY-MM-DD_HH-mm-ss_SSSSSS')}.log`)
    expect(fillTemplate('{{literal}}_{time:HH:mm}.log', date)).toBe(`{literal}_${local('HH:mm')}.log`)
    expect(() => fillTemplate('{level}.log', date)).toThrow('unknown placeholder {level}')
  })

  it.each([
    ['500 MB', { bytes: 500e6 }],
    ['1 GiB', { bytes: 2 ** 30 }],
    ['100 KB', { bytes: 1e5 }],
    ['8 Kb', { bytes: 1000 }],
    ['2 KB', { bytes: 2000 }],
    ['12 hours', { everyMs: 12 * 3600e3 }],
    ['1 day', { everyMs: 86400e3 }],
    ['daily', { at: 'day' }],
    ['weekly', { at: 'week' }],
    ['00:00', { dailyAt: 0 }],
    ['daily, 100 MB', { at: 'day', bytes: 1e8 }],
    ['none', {}],
  ])('%s', (text, rotation) => {
    expect(parseRotation(text)).toEqual(rotation)
  })

  it.each(['500', 'MB', '500 apples', '-1 MB', '0 KB', '25:00', 'monthly sometimes'])('refuses %s', (text) => {
    expect(parseRotation(text)).toBeUndefined()
  })
})

describe('log output problems are one clear line', () => {
  it('an unusable --log-file: exit 1 at start, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-badlog-'))
    writeFileSync(join(dir, 'a-file'), 'x')
    const r = await run('loghour-server.js', ['--port', '0', '--log-file', join(dir, 'a-file', 'server.log')], undefined, {
      env: cleanEnv(),
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^loghour-server: cannot write the log file ${join(dir, 'a-file', 'server.log')}: (EEXIST|ENOTDIR)[^\\n]*\\n$`),
    )
  })

  it.each([
    ['loghour-server.js', '--help'],
    ['loghour.js', '--help'],
    ['loghour.js', 'gen -p 1 -n 100000'],
  ])('%s %s into a pipe whose reader is gone: no EPIPE trace', (script, args) => {
    // `true` exits without reading, long before Node has started: every write meets EPIPE.
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${bin(script)}" ${args} | true`], { encoding: 'utf8', env: cleanEnv() })
    expect(r.stderr).toBe('')
    const head = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${bin(script)}" ${args} | head -1`], {
      encoding: 'utf8',
      env: cleanEnv(),
    })
    expect(head.stderr).toBe('')
    expect(head.stdout.split('\n')).toHaveLength(2)
  })
})

describe('human log lines', () => {
  it('--log-format pretty: time, level and message on one line, the structured fields left to JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-pretty-'))
    const child = spawn(process.execPath, [bin('loghour-server.js'), '--port', '0', '--log-format', 'pretty'], {
      cwd: dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => void child.kill('SIGKILL'))
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    await eventually(() => /listening on 127\.0\.0\.1:\d+/.test(out), 10_000, 'the listening line')
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1])
    await sendTcp(port, reference)
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    const lines = out.trim().split('\n')
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\[\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\] INFO \\(loghour-server\\): loghour-server listening on 127\\.0\\.0\\.1:${port} \\(store: memory; reading: auto, each connection decides from its first records, hours as written\\)$`,
      ),
    )
    expect(out).toContain('INFO (loghour-server): Current hour with maximum number of errors 17')
    expect(out).not.toContain('{')
  })

  it('on a terminal the default (auto) is human lines; through a pipe it is JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loghour-tty-'))
    // `script` gives the server a pseudo-terminal as stdout; its own key prefix names it for pkill.
    const marker = `tty_${process.pid}_${Date.now()}_`
    const command = `"${process.execPath}" "${bin('loghour-server.js')}" --port 0 --key-prefix ${marker}`
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    const kill = (signal: string) => spawnSync('pkill', [`-${signal}`, '-f', `--key-prefix ${marker}`])
    onTestFinished(() => void kill('KILL'))
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    await eventually(() => out.includes('listening'), 10_000, 'the listening line')
    child.kill('SIGTERM')
    kill('TERM')
    await new Promise((r) => child.once('exit', r))
    expect(out).toMatch(/INFO.*loghour-server listening on/)
    expect(out).not.toMatch(/"level":30/)
  })
})
