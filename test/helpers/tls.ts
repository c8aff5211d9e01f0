// Certificates made by openssl in temp dirs (never committed): a self-signed one, and a CA that
// issues server and client certificates for 127.0.0.1 / localhost.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Transport } from './server.js'

export interface Certificate {
  certFile: string
  keyFile: string
  /** PEM text of the certificate (it is its own CA). */
  cert: string
}

/** A new self-signed certificate (EC P-256: made in milliseconds). */
export function selfSignedCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-tls-'))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') }
}

/** A CA made by openssl in its own temp dir, which issues server and client certificates. */
export interface Authority extends Certificate {
  /** A certificate for 127.0.0.1 / localhost signed by this CA, usable by a server and a client. */
  issue(name: string): Certificate
}

/** A new certificate authority (EC P-256, valid two days). */
export function certificateAuthority(name = 'loghour test CA'): Authority {
  const dir = mkdtempSync(join(tmpdir(), 'loghour-ca-'))
  const ca = { certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca-key.pem') }
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  openssl(['req', '-x509', ...ec, '-days', '2', '-keyout', ca.keyFile, '-out', ca.certFile, '-subj', `/CN=${name}`])
  let serial = 0
  return {
    ...ca,
    cert: readFileSync(ca.certFile, 'utf8'),
    issue(subject) {
      const base = join(dir, `${++serial}-${subject.replace(/[^a-z0-9]/gi, '_')}`)
      const [certFile, keyFile, request] = [`${base}.pem`, `${base}-key.pem`, `${base}.csr`]
      openssl(['req', ...ec, '-keyout', keyFile, '-out', request, '-subj', `/CN=${subject}`])
      const extensions = `${base}.ext`
      writeFileSync(
        extensions,
        'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
      )
      openssl([
        'x509',
        '-req',
        '-in',
        request,
        '-CA',
        ca.certFile,
        '-CAkey',
        ca.keyFile,
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-out',
        certFile,
        '-extfile',
        extensions,
      ])
      return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') }
    },
  }
}

/** Mutual TLS for a test's server and clients: a CA, a server and a client certificate it signed. */
export function mutualTls(): Transport {
  const ca = certificateAuthority()
  const [server, client] = [ca.issue('loghour-server'), ca.issue('loghour client')]
  return {
    name: 'mutual TLS',
    serverArgs: ['--tls-cert', server.certFile, '--tls-key', server.keyFile, '--tls-ca', ca.certFile, '--tls-client-auth'],
    tls: { ca: ca.cert, cert: client.cert, key: readFileSync(client.keyFile, 'utf8') },
  }
}
