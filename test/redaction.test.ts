// Passwords in Redis addresses never reach a log line, an error message or the terminal, whatever
// characters they hold and wherever the address is shown.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveServerSettings } from '../src/config.js'
import { createConsumer, OptionError } from '../src/index.js'
import { redactAddress } from '../src/stores/redact.js'
import { run } from './helpers/cli.js'
import { type RedisServer, skipRedis, startRedis } from './helpers/redis.js'
import { cleanEnv, sendTcp, startServer } from './helpers/server.js'

/** A password: a marker no other part of the address contains, then anything printable. */
const secret = (alphabet: string) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 16 }).map((cs) => `Zq9${cs.join('')}`)
const anywhere = secret('abcXYZ0189@/:?#%&=+!$*() ')
const inQuery = secret('abcXYZ0189@/:%+!$*()') // & # ; end a query value: they would not be part of it

const addresses = fc.oneof(
  anywhere.map((s) => [s, `redis://user:${s}@redis.internal:6379/0`] as const),
  anywhere.map((s) => [s, `rediss://:${s}@10.0.0.5`] as const),
  anywhere.map((s) => [s, `redis://${s}@host`] as const),
  anywhere.map((s) => [s, `user:${s}@host:6379`] as const), // not a URL at all
  anywhere.map((s) => [s, `http://u:${s}@x`] as const), // a wrong scheme
  inQuery.map((s) => [s, `redis://host:6379/?password=${s}`] as const),
  inQuery.map((s) => [s, `rediss://host?db=2&password=${s}&family=6`] as const),
)

describe('redacted addresses', () => {
  it('redactAddress never shows the password', () => {
    fc.assert(
      fc.property(addresses, ([password, address]) => {
        const shown = redactAddress(address)
        expect(shown).not.toContain(password)
        // Nor its part after an `@` (`?password=ab@secret` once showed as `redis://***@secret`).
        const tail = password.slice(password.lastIndexOf('@') + 1)
        const rest = shown.replace(/^\w+:\/\//, '').replaceAll('***', '\u0000') // not the scheme or the mask itself
        // (unless the address has it anyway: a password ending in @10 with the host 10.0.0.5)
        if (tail.length >= 2 && !address.replace(password, '').includes(tail)) expect(rest).not.toContain(tail)
      }),
      { numRuns: 2000 },
    )
  })

  it('keeps what is not secret', () => {
    expect(redactAddress('redis://user:ab@Sup3rSecret@host:6379/0')).toBe('redis://***@host:6379/0')
    expect(redactAddress('rediss://host/?password=hunter2&db=1')).toBe('rediss://host/?password=***&db=1')
    expect(redactAddress('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379')
    expect(redactAddress('redis://host:6379/?password=ab@secret')).toBe('redis://host:6379/?password=***')
    expect(redactAddress('redis://u:p@host:6379/?password=ab@secret&db=2')).toBe('redis://***@host:6379/?password=***&db=2')
    expect(redactAddress('redis://host/?sentinelPassword=s3&name=m')).toBe('redis://host/?sentinelPassword=***&name=m')
    expect(redactAddress('redis://user:a/b?c@host')).toBe('redis://***@host') // not a URL: up to the last @
  })

  it('a bad REDIS_ADDRESS or store.redis is named without its password', () => {
    fc.assert(
      fc.property(addresses, ([password, address]) => {
        const bad = `${address} extra` // never a valid address
        let message = ''
        try {
          resolveServerSettings({}, { REDIS_ADDRESS: bad }, {})
        } catch (error) {
          message = (error as Error).message
        }
        expect(message).toMatch(/^invalid REDIS_ADDRESS/)
        expect(message).not.toContain(password)
        try {
          createConsumer({ store: { redis: `redis://${bad}` } })
        } catch (error) {
          message = (error as Error).message
        }
        expect(message).not.toContain(password)
      }),
      { numRuns: 300 },
    )
  })

  it('a password with a malformed percent escape is refused at once (the client would throw on it later)', () => {
    const address = 'redis://:Zq9%zz@127.0.0.1:1'
    expect(() => createConsumer({ store: { redis: address } })).toThrow(OptionError)
    expect(() => createConsumer({ store: { redis: address } })).toThrow('got "redis://***@127.0.0.1:1"')
    expect(() => resolveServerSettings({}, { REDIS_ADDRESS: address }, {})).toThrow('invalid REDIS_ADDRESS "redis://***@127.0.0.1:1"')
  })
})

describe.skipIf(skipRedis())('a real password with @ and / in it', () => {
  const PASSWORD = 'ab@Sup3r/Secret'
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD })
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it.each([
    // The @ as typed (the URL parser takes the last @); the / encoded, or it would end the host.
    ['in the user part', `redis://default:${PASSWORD.replace('/', '%2F')}@127.0.0.1:PORT`],
    ['as a query parameter', `redis://127.0.0.1:PORT/?password=${encodeURIComponent(PASSWORD)}`],
  ])('%s: it connects, and neither the log nor loghour stats show it', async (_, template) => {
    const url = template.replace('PORT', String(redis.port))
    const server = await startServer([], { REDIS_ADDRESS: url })
    await sendTcp(server.port, Buffer.from('{"time":"2019-05-06 17:00:00","ip":"a","status_code":500}\n'))
    expect(await server.stop()).toBe(0)
    const everything = JSON.stringify(server.logs) + server.stderr()
    expect(everything).toContain('Current hour with maximum number of errors 17')
    expect(everything).not.toContain('Sup3r')
    const stats = await run('loghour.js', ['stats', '--redis', url], undefined, { env: cleanEnv() })
    expect(stats.code).toBe(0)
    const wrong = await run('loghour.js', ['stats', '--redis', url.replace('Sup3r', 'Wr0ng')], undefined, { env: cleanEnv() })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/WRONGPASS/)
    expect(stats.stdout.toString() + stats.stderr + wrong.stderr).not.toMatch(/Sup3r|Wr0ng/)
  })
})
