// Documentation that is generated from the code: it cannot disagree with it.
// After changing a setting: LOGHOUR_UPDATE_DOCS=1 npx vitest run test/docs.test.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { optionsTable, settingsTable } from '../src/config.js'
import { optionSettings } from '../src/settings.js'
import { ROOT } from './helpers/cli.js'

/** The README between `<!-- NAME: generated … -->` and `<!-- end of NAME -->` is `generated`. */
function expectGenerated(name: string, generated: string): void {
  const path = join(ROOT, 'README.md')
  const readme = readFileSync(path, 'utf8')
  const begin = `<!-- ${name}: generated from src/settings.ts by test/docs.test.ts -->`
  const end = `<!-- end of ${name} -->`
  const start = readme.indexOf(begin)
  const stop = readme.indexOf(end)
  expect(start, `README markers of ${name}`).toBeGreaterThan(0)
  const block = `${begin}\n${generated}\n${end}`
  if (process.env.LOGHOUR_UPDATE_DOCS === '1') writeFileSync(path, readme.slice(0, start) + block + readme.slice(stop + end.length))
  else expect(readme.slice(start, stop + end.length)).toBe(block)
}

describe('README', () => {
  it('the configuration table is the one generated from the settings', () => {
    expectGenerated('settings', settingsTable())
  })
  it.each(['consumer', 'listen'] as const)('the %s options table is the one generated from the settings', (group) => {
    expectGenerated(`${group} options`, optionsTable(group))
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
