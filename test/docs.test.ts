// Documentation that is generated from the code: it cannot disagree with it.
// After changing a setting: LOGHOUR_UPDATE_DOCS=1 npx vitest run test/docs.test.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { settingsTable } from '../src/config.js'
import { ROOT } from './helpers/cli.js'

const BEGIN = '<!-- settings: generated from src/config.ts by test/docs.test.ts -->'
const END = '<!-- end of settings -->'

describe('README', () => {
  it('the configuration table is the one generated from the settings', () => {
    const path = join(ROOT, 'README.md')
    const readme = readFileSync(path, 'utf8')
    const start = readme.indexOf(BEGIN)
    const end = readme.indexOf(END)
    expect(start, 'README markers').toBeGreaterThan(0)
    const generated = `${BEGIN}\n${settingsTable()}\n${END}`
    if (process.env.LOGHOUR_UPDATE_DOCS === '1') writeFileSync(path, readme.slice(0, start) + generated + readme.slice(end + END.length))
    else expect(readme.slice(start, end + END.length)).toBe(generated)
  })
})
