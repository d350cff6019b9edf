/**
 * One consumer per running instance of a role: two archivers (or signal runners) on one durable
 * pull consumer split its messages between them and, on a restart, re-create it under each other
 * (a Kubernetes Deployment with `replicas: 2`, or a rolling update with surge, does exactly that).
 * A running instance answers requests on `_SSMD.claim.{role}.{stream}.{consumer}` (core NATS);
 * a new one asks first and is refused (CONSUMER_IN_USE, exit 2, naming the holder's host, PID
 * and start time). A process that died holds nothing: its subscription ended with its connection,
 * so a restart after a crash is never refused. (Two instances starting within the same few
 * milliseconds can both pass; a rolling update starts them seconds apart.)
 */
import { hostname } from 'node:os'
import type { NatsConnection, Subscription } from '@nats-io/nats-core'
import { encodeTickerToken } from '../../hot/subject.ts'
import { UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'

export interface ConsumerClaim {
  /** Stops answering (the next instance may start). */
  release(): void
}

/** Requests of a claim before a newcomer that got no answer (only timeouts) goes on. */
const CLAIM_ATTEMPTS = 3

interface Holder {
  host: string
  pid: number
  since: string
}

/** The claim subject of (role, stream, consumer). */
export function claimSubject(role: string, stream: string, consumer: string): string {
  return `_SSMD.claim.${encodeTickerToken(role)}.${encodeTickerToken(stream)}.${encodeTickerToken(consumer)}`
}

/**
 * Claims `consumer` of `stream` for this process, or fails with CONSUMER_IN_USE when another
 * instance of `role` holds it. `flag` names the option that picks another consumer.
 */
export async function claimConsumer(nc: NatsConnection, role: string, stream: string, consumer: string, flag = '--consumer', log: Logger = silentLogger()): Promise<ConsumerClaim> {
  const subject = claimSubject(role, stream, consumer)
  let holder: Holder | null = null
  // no responders: nobody holds it. A timeout (a holder whose event loop is busy, a slow link) is
  // asked again before going on: a holder that answers late must still refuse the newcomer.
  for (let attempt = 1; ; attempt++) {
    const answer = await nc.request(subject, '', { timeout: 1_000 }).then(
      (m) => m.json<Holder>(),
      (e: unknown) => (/no responders|503/i.test(String((e as Error)?.message ?? e)) ? null : e),
    )
    if (answer === null || (answer as Holder).pid !== undefined) {
      holder = answer as Holder | null
      break
    }
    if (attempt >= CLAIM_ATTEMPTS) {
      log.warn({ err: answer, subject }, `${role}: could not ask whether consumer ${consumer} is in use (${CLAIM_ATTEMPTS} tries); going on`)
      break
    }
  }
  if (holder !== null) {
    throw new UsageError(
      `${role}: consumer ${consumer} of stream ${stream} is in use by PID ${holder.pid} on ${holder.host} (running since ${holder.since}): ` +
        `another ${role} consumes it; stop that one, or give this one its own ${flag}`,
      'CONSUMER_IN_USE',
    )
  }
  const me = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() } satisfies Holder)
  const sub: Subscription = nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(me)
    },
  })
  return {
    release() {
      if (!sub.isClosed()) sub.unsubscribe()
    },
  }
}
