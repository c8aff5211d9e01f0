// Documentation that is generated from the code: it cannot disagree with it; and the README and
// docs/ hang together: short front page, no broken relative link.
// After changing a setting: LOGHOUR_UPDATE_DOCS=1 npx vitest run test/docs.test.ts
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { optionsTable, settingsTable } from '../src/config.js'
import { optionSettings } from '../src/settings.js'
import { ROOT } from './helpers/cli.js'

/** `file` (relative to the root) between `<!-- NAME: generated … -->` and `<!-- end of NAME -->` is `generated`. */
function expectGenerated(file: string, name: string, generated: string): void {
  const path = join(ROOT, file)
  const text = readFileSync(path, 'utf8')
  const begin = `<!-- ${name}: generated from src/settings.ts by test/docs.test.ts -->`
  const end = `<!-- end of ${name} -->`
  const start = text.indexOf(begin)
  const stop = text.indexOf(end)
  expect(start, `${file} markers of ${name}`).toBeGreaterThan(0)
  const block = `${begin}\n${generated}\n${end}`
  if (process.env.LOGHOUR_UPDATE_DOCS === '1') writeFileSync(path, text.slice(0, start) + block + text.slice(stop + end.length))
  else expect(text.slice(start, stop + end.length)).toBe(block)
}

describe('generated tables', () => {
  it('the configuration table of docs/server.md is the one generated from the settings', () => {
    expectGenerated('docs/server.md', 'settings', settingsTable())
  })
  it.each(['consumer', 'listen'] as const)('the %s options table of docs/embedding.md is generated from the settings', (group) => {
    expectGenerated('docs/embedding.md', `${group} options`, optionsTable(group))
  })
})

/** README.md and every docs/*.md, as paths relative to the root. */
const MARKDOWN = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** The lines of a Markdown text outside its fenced code blocks. */
function outsideCode(text: string): string[] {
  const lines: string[] = []
  let fence: string | undefined
  for (const line of text.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined && marker !== undefined) fence = marker
    else if (fence !== undefined && marker?.[0] === fence[0] && marker.length >= fence.length) fence = undefined
    else if (fence === undefined) lines.push(line)
  }
  return lines
}

/**
 * The anchors GitHub gives a Markdown text's headings: the heading's text (a link's text, code
 * spans as their text) in lowercase, punctuation dropped except `-` and `_`, spaces turned into
 * `-`; a repeated one gets `-1`, `-2`…
 */
function anchors(text: string): Set<string> {
  const found = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of outsideCode(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const words = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').toLowerCase()
    const slug = words.replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '').replace(/ /g, '-')
    const n = seen.get(slug)
    found.add(n === undefined ? slug : `${slug}-${n}`)
    seen.set(slug, (n ?? 0) + 1)
  }
  return found
}

/** Every link and image target of a Markdown text, outside code blocks and code spans. */
function linkTargets(text: string): string[] {
  const targets: string[] = []
  for (const line of outsideCode(text)) {
    const prose = line.replace(/(`+)[\s\S]*?\1/g, '')
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!)
  }
  return targets
}

describe('README and docs/', () => {
  it('README.md is a front page: at most 200 lines', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme.replace(/\n$/, '').split('\n').length).toBeLessThanOrEqual(200)
  })

  it.each(MARKDOWN)('every relative link of %s leads to a file and a heading that exist', (file) => {
    const broken: string[] = []
    for (const target of linkTargets(readFileSync(join(ROOT, file), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
      const [path, anchor] = target.split('#', 2) as [string, string | undefined]
      const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path))
      if (!existsSync(resolved)) broken.push(`${target}: no file ${relative(ROOT, resolved)}`)
      else if (anchor !== undefined && !resolved.endsWith('.md')) broken.push(`${target}: an anchor in a file that is not Markdown`)
      else if (anchor !== undefined && !anchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) {
        broken.push(`${target}: no heading #${anchor} in ${relative(ROOT, resolved)}`)
      }
    }
    expect(broken).toEqual([])
  })
})

describe('library option docs', () => {
  // The option interfaces are written by hand for their TSDoc; the compiler checks their types
  // against the declarations, and this checks the defaults they document.
  const source = readFileSync(join(ROOT, 'src/options.ts'), 'utf8')
  const documented = (iface: string): Map<string, string | undefined> => {
    const body = new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`).exec(source)![1]!
    const members = new Map<string, string | undefined>()
    for (const [, doc, name] of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)\?:/g)) {
      members.set(name!, /@default (\S+)/.exec(doc!)?.[1])
    }
    return members
  }
  it.each([
    ['ConsumerOptions', 'consumer'],
    ['ListenOptions', 'listen'],
  ] as const)('%s documents every %s option with its declared default', (iface, group) => {
    const members = documented(iface)
    const settings = optionSettings(group)
    expect([...members.keys()].sort()).toEqual(settings.map((s) => s.key).sort())
    for (const s of settings) {
      const expected = s.default === undefined || typeof s.default === 'object' ? undefined : JSON.stringify(s.default)
      expect(members.get(s.key), s.key).toBe(expected)
    }
  })
})
