// What a Redis error means for the user, in one line: the keys Redis refuses because of what they
// hold, a right the ACL user lacks, a peer that is not a Redis server.

/** Redis's answer when a key holds a value that is not a HyperLogLog. */
const NOT_AN_HLL = /WRONGTYPE|not a valid HyperLogLog/
/** ioredis's words for a peer whose replies are not RESP (an HTTP server, a database, …). */
const NOT_RESP = /Unknown RESP type|Protocol error/
/** Redis's answer when the user's ACL forbids a command (inside a script it does not say which). */
export const NO_PERMISSION = /NOPERM|can't run this command/

/** The message of an error (or of anything thrown). */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Says what a Redis error means for the user: names the keys Redis refuses because of what they
 * hold (the one error a user must fix), and a peer that is not a Redis server.
 */
export function explain(error: unknown, keys: string[] = []): Error {
  const message = messageOf(error)
  if (NOT_RESP.test(message)) {
    return new Error('the server does not speak the Redis protocol (is this the address of a Redis server?)', { cause: error })
  }
  if (NO_PERMISSION.test(message)) {
    const command =
      /\((EXISTS|SET|PFMERGE|PEXPIREAT)\)$/.exec(message)?.[1] ??
      /'(\w+)' command/.exec(message)?.[1]?.toUpperCase() ??
      'a command it needs'
    return new Error(
      `the Redis user may not run ${command} (${message}); grant the rights listed under "Redis permissions" in docs/redis.md`,
      { cause: error },
    )
  }
  if (!NOT_AN_HLL.test(message) || keys.length === 0) return error instanceof Error ? error : new Error(message)
  const why = message.split('. ')[0]!.replace(/\.$/, '')
  const what =
    keys.length === 1
      ? `${keys[0]} holds a value that is not a HyperLogLog; delete or rename it`
      : `${keys.join(', ')} hold values that are not HyperLogLogs; delete or rename them`
  return new Error(`${what} (${why})`, { cause: error })
}

/**
 * The answers of one command per key, as a single error: keys refused for what they hold are
 * named together; otherwise the first error stands for all.
 */
export function combineErrors(failures: { key: string; error: unknown }[]): Error | undefined {
  if (failures.length === 0) return undefined
  const wrongType = failures.filter((f) => NOT_AN_HLL.test(messageOf(f.error)))
  if (wrongType.length > 0)
    return explain(
      wrongType[0]!.error,
      wrongType.map((f) => f.key),
    )
  return explain(failures[0]!.error)
}
