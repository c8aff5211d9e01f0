// The README's "Try it" block, run by bash as pasted, in a fresh folder, with the two ports of its
// first line changed to free ones (the way the README says to change them).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { freePort, skipRedis } from './helpers/redis.js'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The first `sh` block after `heading`. */
function block(heading: string): string {
  const m = new RegExp(`${heading}\\n[\\s\\S]*?\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(README)
  if (!m) throw new Error(`README.md has no sh block under ${heading}`)
  return m[1]!
}

describe.skipIf(skipRedis())('README', () => {
  it('"Try it" runs as pasted: analyze and the server through Redis give the same answer', async () => {
    const script = block('## Try it')
    const [first, ...rest] = script.split('\n')
    expect(first).toMatch(/^export SERVER_PORT=2525 REDIS_PORT=6379 +#/)
    const [serverPort, redisPort] = [await freePort(), await freePort()]
    const dir = mkdtempSync(join(tmpdir(), 'loghour-try-it-'))
    symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'))
    onTestFinished(async () => {
      // Whatever happened, no Redis is left running.
      spawn('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave'], { stdio: 'ignore' })
      rmSync(dir, { recursive: true, force: true })
    })
    const pasted = [
      first!.replace('SERVER_PORT=2525', `SERVER_PORT=${serverPort}`).replace('REDIS_PORT=6379', `REDIS_PORT=${redisPort}`),
      ...rest,
    ]
    const child = spawn('bash', ['-e', '-c', pasted.join('\n')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(err).toBe('')
    expect(code).toBe(0)
    // analyze's answer, then the same peak from the server's Redis keys.
    const analyzed = await run('loghour.js', ['analyze', join(dir, 'access.log')])
    const peak = analyzed.stdout.toString().split('\n')[1]!
    expect(peak).toMatch(/^Peak hour: \d\d:00–\d\d:59, \d+ distinct users/)
    expect(out.split(peak).length - 1).toBe(2) // analyze's and stats' (the server logs JSON lines)
    expect(out).toContain(`listening on 127.0.0.1:${serverPort}`)
  }, 60_000)
})
