// A web page cannot count records: in real Chromium, a page of another origin POSTs to /ingest
// (`mode: 'no-cors'`, which needs no CORS answer) and is refused with 403, unless its origin is
// allowed with --ingest-origins; shippers (curl here), which send no Origin, are unaffected.
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { message, type ServerProcess, startServer } from './helpers/server.js'
import { missing } from './helpers/tools.js'

const CHROMIUM = '/usr/bin/chromium'
const RECORD = '{"time":"2026-11-23 09:15:00","ip":"10.9.9.9","status_code":503}\n'

/** A page that, once loaded, POSTs one record to `ingest` the way a hostile page would. */
function hostilePage(ingest: string): string {
  return `<!doctype html><title>page</title><script>
fetch(${JSON.stringify(ingest)}, { method: 'POST', mode: 'no-cors', body: ${JSON.stringify(RECORD)} })
  .then(() => (document.title = 'sent'), () => (document.title = 'failed'))
</script>`
}

async function withHttp(args: string[] = []): Promise<{ server: ServerProcess; base: string }> {
  const server = await startServer(['--http', '127.0.0.1:0', ...args])
  const { port } = (await server.waitForLog(message('HTTP endpoints'), 0)).http as { port: number }
  return { server, base: `http://127.0.0.1:${port}` }
}

const counted = async (base: string) => ((await (await fetch(`${base}/stats`)).json()) as { lines: { counted: number } }).lines.counted

describe.skipIf(missing('chromium (apt-get install chromium)', existsSync(CHROMIUM)))('POST /ingest from web pages', () => {
  let browser: Browser
  let site: Server
  let page = ''
  let origin = ''
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
    // The hostile site: another origin (another port) than the listener's.
    site = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await browser?.close()
    site?.close()
  })

  const visit = async (base: string) => {
    page = hostilePage(`${base}/ingest`)
    const tab = await browser.newPage()
    try {
      await tab.goto(origin)
      await tab.waitForFunction("document.title !== 'page'")
    } finally {
      await tab.close()
    }
  }

  it('a page of another origin is refused (403), and nothing it sent counts', async () => {
    const { server, base } = await withHttp()
    const refused = server.waitForLog(message('POST /ingest from'))
    await visit(base) // its fetch settles once the answer came
    expect(await counted(base)).toBe(0)
    const record = await refused
    expect(record.msg).toMatch(new RegExp(`: 403, requests from web pages are refused \\(Origin: ${origin}\\)`))
    // A shipper (no Origin, no Sec-Fetch-Site) is not affected.
    expect((await fetch(`${base}/ingest`, { method: 'POST', body: RECORD })).status).toBe(200)
    expect(await counted(base)).toBe(1)
    // Either browser header alone is enough to refuse.
    const browserHeaders: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
    ]
    for (const headers of browserHeaders) {
      expect((await fetch(`${base}/ingest`, { method: 'POST', body: RECORD, headers })).status, JSON.stringify(headers)).toBe(403)
    }
  })

  it('a page of an origin allowed with --ingest-origins counts', async () => {
    const { base } = await withHttp(['--ingest-origins', `https://other.example, ${origin}`])
    await visit(base) // its fetch settles once the answer came, and the answer comes once counted
    expect(await counted(base)).toBe(1)
    expect((await fetch(`${base}/ingest`, { method: 'POST', body: RECORD, headers: { origin: 'https://evil.example' } })).status).toBe(403)
  })

  it('--ingest-origins takes origins or *, and an empty one is an error', async () => {
    await expect(withHttp(['--ingest-origins', 'https://a.example/path'])).rejects.toThrow(/invalid --ingest-origins/)
    await expect(withHttp(['--ingest-origins', ''])).rejects.toThrow(/--ingest-origins is empty/)
    await expect(startServer(['--ingest-origins', '*'])).rejects.toThrow(/--ingest-origins applies to the HTTP endpoints; add --http/)
  })
})
