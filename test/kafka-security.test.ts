// The Kafka input to a real broker that demands TLS (with client certificates) or SASL over TLS
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): each way reads every record; a wrong password or a
// missing certificate keeps the server not ready with the reason; the password, given only in
// LOGHOUR_KAFKA_PASSWORD, appears in no log line, no answer and no error; and the security
// settings fail closed (exit 2) when empty, unpaired or given without what they apply to.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, run } from './helpers/cli.js'
import { accessRecord, kafkaAvailable, kafkaTopic, produce, useKafka } from './helpers/kafka.js'
import { cleanEnv, eventually, httpBase, startServer } from './helpers/server.js'
import { type Authority, type Certificate, certificateAuthority } from './helpers/tls.js'
import { missing } from './helpers/tools.js'

const PASSWORD = 'kafka-Pa55-word-never-shown'
const GUIDE = readFileSync(join(ROOT, 'docs/kafka.md'), 'utf8')
const RECORDS = Array.from({ length: 120 }, (_, i) => accessRecord(i))

describe.skipIf(missing('Java and the Kafka broker jars (bash .ci/run copies them from Maven Central)', kafkaAvailable))(
  'loghour-server --kafka-tls and --kafka-sasl against a real broker',
  () => {
    let ca: Authority
    let client: Certificate
    const broker = useKafka(() => {
      ca = certificateAuthority()
      const server = ca.issue('kafka-broker')
      client = ca.issue('loghour')
      // Kafka's PEM key store: the private key (PKCS#8) and the certificate chain in one file.
      const keystore = join(server.certFile, '..', 'broker-keystore.pem')
      writeFileSync(keystore, readFileSync(server.keyFile, 'utf8') + server.cert)
      const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;'
      return {
        listeners: ['SSL', 'SASL_SSL'],
        properties: {
          'ssl.keystore.type': 'PEM',
          'ssl.keystore.location': keystore,
          'ssl.truststore.type': 'PEM',
          'ssl.truststore.location': ca.certFile,
          'listener.name.ssl.ssl.client.auth': 'required',
          'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
          'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_loghour="${PASSWORD}";`,
          'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': scram,
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': scram,
        },
        scram: [
          { mechanism: 'SCRAM-SHA-256', name: 'loghour', password: PASSWORD },
          { mechanism: 'SCRAM-SHA-512', name: 'loghour', password: PASSWORD },
        ],
      }
    })

    /** A memory-store server of its own group on `port` with `args`; resolves with its /stats and /readyz base. */
    const reader = async (group: string, port: number, args: string[], env: Record<string, string> = {}) => {
      const server = await startServer(
        ['--kafka', `127.0.0.1:${port}`, '--kafka-topic', 'secure', '--kafka-group', group, '--http', '127.0.0.1:0', ...args],
        env,
      )
      return { server, http: await httpBase(server) }
    }
    const linesRead = async (http: string) => ((await (await fetch(`${http}/stats`)).json()) as { lines: { total: number } }).lines.total

    it('reads every record over TLS with a client certificate, and over SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512', async () => {
      const { kafka, admin } = await kafkaTopic(broker, 'secure', 2)
      await admin.disconnect()
      await produce(kafka, 'secure', RECORDS)
      const tls = ['--kafka-tls', '--kafka-ca', ca.certFile]
      const ways: [string, number, string[], Record<string, string>][] = [
        ['tls', broker.ports.SSL!, [...tls, '--kafka-cert', client.certFile, '--kafka-key', client.keyFile], {}],
        ...(['plain', 'scram-sha-256', 'scram-sha-512'] as const).map((mechanism): [string, number, string[], Record<string, string>] => [
          mechanism,
          broker.ports.SASL_SSL!,
          [...tls, '--kafka-sasl', mechanism, '--kafka-username', 'loghour'],
          { LOGHOUR_KAFKA_PASSWORD: PASSWORD },
        ]),
      ]
      // docs/kafka.md's command, as written but for the CA's path.
      const guide = /```sh\nexport LOGHOUR_KAFKA_PASSWORD[^\n]*\n([^`]+)```/.exec(GUIDE)![1]!.replace(/\\\n/g, ' ').trim().split(/\s+/)
      const flags = guide.slice(guide.indexOf('--kafka-tls'))
      expect(flags).toEqual([
        '--kafka-tls',
        '--kafka-ca',
        '/etc/loghour/kafka-ca.pem',
        '--kafka-sasl',
        'scram-sha-512',
        '--kafka-username',
        'loghour',
      ])
      flags[2] = ca.certFile
      ways.push(['guide', broker.ports.SASL_SSL!, flags, { LOGHOUR_KAFKA_PASSWORD: PASSWORD }])
      for (const [group, port, args, env] of ways) {
        const { server, http } = await reader(group, port, args, env)
        await eventually(async () => (await linesRead(http)) === RECORDS.length, 30_000, `${group}: every record read`)
        await eventually(async () => (await fetch(`${http}/readyz`)).status === 200, 10_000, `${group}: ready`)
        const answers = [await (await fetch(`${http}/stats`)).text(), await (await fetch(`${http}/metrics`)).text()]
        expect(await server.stop()).toBe(0)
        for (const text of [...answers, server.stderr(), JSON.stringify(server.logs)]) expect(text).not.toContain(PASSWORD)
      }
    }, 120_000)

    it('a wrong password, or no client certificate, keeps the server not ready with the reason, and reads nothing', async () => {
      const tls = ['--kafka-tls', '--kafka-ca', ca.certFile]
      const ways: [string, number, string[], Record<string, string>, RegExp][] = [
        [
          'wrong-scram',
          broker.ports.SASL_SSL!,
          [...tls, '--kafka-sasl', 'scram-sha-512', '--kafka-username', 'loghour'],
          { LOGHOUR_KAFKA_PASSWORD: `${PASSWORD}-wrong` },
          /SASL|authentication/i,
        ],
        ['no-cert', broker.ports.SSL!, tls, {}, /no broker connection yet/],
      ]
      for (const [group, port, args, env, why] of ways) {
        const { server, http } = await reader(group, port, args, env)
        let reason = ''
        await eventually(
          async () => {
            const r = await fetch(`${http}/readyz`)
            reason = ((await r.json()) as { reason?: string }).reason ?? ''
            return r.status === 503 && why.test(reason)
          },
          30_000,
          `${group}: not ready, saying why`,
        )
        expect(reason).toMatch(/Kafka/)
        expect(await linesRead(http)).toBe(0)
        expect(await server.stop()).toBe(0)
        for (const text of [reason, server.stderr(), JSON.stringify(server.logs)]) expect(text).not.toContain(PASSWORD)
      }
    }, 120_000)
  },
)

describe('loghour-server Kafka security settings fail closed', () => {
  it('exits 2 for SASL without a user or password, an empty password, a password without SASL, TLS files without --kafka-tls, a certificate without its key', async () => {
    const base = ['--kafka', '127.0.0.1:9', '--kafka-topic', 'access']
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--kafka-sasl', 'scram-sha-256'], { LOGHOUR_KAFKA_PASSWORD: PASSWORD }, /--kafka-sasl needs --kafka-username/],
      [['--kafka-sasl', 'plain', '--kafka-username', 'loghour'], {}, /--kafka-sasl needs the password in LOGHOUR_KAFKA_PASSWORD/],
      [['--kafka-sasl', 'plain', '--kafka-username', 'loghour'], { LOGHOUR_KAFKA_PASSWORD: '' }, /LOGHOUR_KAFKA_PASSWORD is empty/],
      [[], { LOGHOUR_KAFKA_PASSWORD: PASSWORD }, /LOGHOUR_KAFKA_PASSWORD is set, but no --kafka-sasl/],
      [['--kafka-username', 'loghour'], {}, /--kafka-username applies with --kafka-sasl/],
      [
        ['--kafka-sasl', 'gssapi', '--kafka-username', 'loghour'],
        { LOGHOUR_KAFKA_PASSWORD: PASSWORD },
        /invalid --kafka-sasl "gssapi": expected plain, scram-sha-256 or scram-sha-512/,
      ],
      [['--kafka-ca', '/etc/hostname'], {}, /--kafka-ca applies with --kafka-tls/],
      [['--kafka-tls', '--kafka-cert', '/etc/hostname'], {}, /--kafka-cert needs its pair/],
      [['--kafka-tls', '--kafka-ca', ''], {}, /--kafka-ca is empty: a security setting is never turned off/],
      [['--kafka-tls', '--kafka-ca', '/nonexistent/ca.pem'], {}, /cannot read the Kafka TLS ca file/],
    ]
    for (const [args, env, want] of cases) {
      const r = await run('loghour-server.js', [...base, ...args], undefined, { env: cleanEnv(env) })
      expect(r.stderr.toString(), args.join(' ')).toMatch(want)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr.toString()).not.toContain(PASSWORD)
    }
    // --kafka-tls without --kafka is refused like the other Kafka settings.
    const alone = await run('loghour-server.js', ['--kafka-tls'], undefined, { env: cleanEnv() })
    expect(alone.code).toBe(2)
    expect(alone.stderr.toString()).toMatch(/--kafka-tls applies with --kafka/)
  })
})
