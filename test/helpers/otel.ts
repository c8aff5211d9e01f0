// Real OpenTelemetry SDKs sending OTLP logs, as instrumented apps do: test/fixtures/otlp-node-app.mjs (the JS SDK,
// devDependencies) and test/fixtures/otlp-python-app.py (the Python SDK, in the virtual environment `.ci/run` makes
// and names in LOGHOUR_OTEL_PYTHON). Each reads one spec on stdin and prints whether its exports succeeded.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:http2'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { ROOT } from './cli.js'

/** The opentelemetry-sdk and OTLP exporters' version in the Python virtual environment. */
export const OTEL_PYTHON_VERSION = '1.45.2'

/** Where `.ci/run` makes that virtual environment. */
export const OTEL_PYTHON_DEFAULT = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  `loghour-ci/otel-python-${OTEL_PYTHON_VERSION}`,
  'bin/python',
)

/** The Python with the OpenTelemetry SDK (LOGHOUR_OTEL_PYTHON, else the default path when it exists), or undefined. */
export function otelPython(): string | undefined {
  if (process.env.LOGHOUR_OTEL_PYTHON) return process.env.LOGHOUR_OTEL_PYTHON
  return existsSync(OTEL_PYTHON_DEFAULT) ? OTEL_PYTHON_DEFAULT : undefined
}

/** `http/json` is the JS SDK's only: the Python SDK has no OTLP/HTTP JSON exporter. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc'

export interface OtlpRecord {
  /** Nanoseconds since the epoch, as a decimal string; both SDKs send it exactly. Without it the JS SDK sends now (ms), Python none. */
  timeUnixNano?: string
  /** A string, or an object (sent as a kvlistValue). */
  body?: unknown
  /** Integers go out as intValue, other numbers as doubleValue, strings as stringValue. */
  attributes?: Record<string, unknown>
  severityText?: string
  severityNumber?: number
}

export interface OtlpAppSpec {
  protocol: OtlpProtocol
  /** `http://127.0.0.1:PORT/v1/logs` for OTLP/HTTP, `http://127.0.0.1:PORT` for gRPC. */
  url: string
  headers?: Record<string, string>
  compression?: 'gzip' | 'none'
  /** Resource attributes; each SDK adds its telemetry.sdk.* ones (Python a service.instance.id too). */
  resource: Record<string, unknown>
  records: OtlpRecord[]
  /** gRPC over TLS (an `https://` url): the PEM text of the authority the server's certificate is checked against. */
  ca?: string
  /** gRPC over mutual TLS, Python app only: the PEM texts of the client's certificate and key. */
  clientCert?: string
  clientKey?: string
  /** The exporter's timeout, retries included (the SDKs' default: 10 s). */
  timeoutMillis?: number
}

export interface OtlpAppResult {
  /** Whether every export succeeded (after the exporter's own retries). */
  ok: boolean
  error?: string
}

const FIXTURES = join(ROOT, 'test/fixtures')

/** Environment without OpenTelemetry's own variables, so the spec alone says what is sent. */
function otelCleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key]
  return env
}

/**
 * Runs the Node or Python OTLP app with `spec` and resolves with what it printed: it emits every record,
 * flushes and shuts down. Throws when the app itself fails, or runs longer than 60 s (then it is killed),
 * and for Python when no SDK is installed (check `otelPython()` first to skip instead).
 */
export async function runOtlpApp(kind: 'node' | 'python', spec: OtlpAppSpec): Promise<OtlpAppResult> {
  let command: string
  let script: string
  if (kind === 'node') {
    command = process.execPath
    script = join(FIXTURES, 'otlp-node-app.mjs')
  } else {
    const python = otelPython()
    if (python === undefined) {
      throw new Error(`no OpenTelemetry Python SDK: set LOGHOUR_OTEL_PYTHON or run bash .ci/run (it makes ${OTEL_PYTHON_DEFAULT})`)
    }
    command = python
    script = join(FIXTURES, 'otlp-python-app.py')
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, [script], { cwd: ROOT, env: otelCleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    try {
      onTestFinished(kill)
    } catch {
      // Not inside a test (a hook): the timeout below still ends it.
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      kill()
    }, 60_000)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const last = stdout.trim().split('\n').at(-1) ?? ''
      let result: OtlpAppResult | undefined
      try {
        result = JSON.parse(last) as OtlpAppResult
      } catch {
        result = undefined
      }
      if (timedOut) return reject(new Error(`the ${kind} OTLP app ran over 60 s and was killed; stderr: ${stderr}`))
      if (code !== 0 || result === undefined || typeof result.ok !== 'boolean') {
        return reject(new Error(`the ${kind} OTLP app failed (exit ${code ?? signal}): ${last}\n${stderr}`))
      }
      resolve(result)
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(JSON.stringify(spec))
  })
}

/** One unary call by hand: the frames given, the answer's grpc-status and message. */
export async function grpcCall(
  port: number,
  frames: Buffer[],
  headers: Record<string, string> = {},
): Promise<{ status: string | undefined; message: string | undefined }> {
  const session = connect(`http://127.0.0.1:${port}`)
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      })
      let status: string | undefined
      let text: string | undefined
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status'])
        if (h['grpc-message'] !== undefined) text = decodeURIComponent(String(h['grpc-message']))
      }
      stream.on('response', take)
      stream.on('trailers', take)
      stream.on('error', reject)
      stream.resume()
      stream.on('close', () => resolve({ status, message: text }))
      for (const frame of frames) stream.write(frame)
      stream.end()
    })
  } finally {
    session.close()
  }
}

/** A gRPC message frame: the compressed flag, the length, the bytes. */
export function grpcFrame(bytes: Buffer, compressed = false, length = bytes.length): Buffer {
  const head = Buffer.alloc(5)
  head[0] = compressed ? 1 : 0
  head.writeUInt32BE(length, 1)
  return Buffer.concat([head, bytes])
}
