/**
 * Test fixture: the few GCS JSON API calls @google-cloud/storage makes for a multipart upload
 * (`POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart`) and an object metadata read
 * (`GET /storage/v1/b/{bucket}/o/{name}`), on Bun.serve port 0. Point the library at it with
 * `apiEndpoint` (no auth is used for a custom endpoint). Faults: fail the next N uploads with 503,
 * or report a wrong crc32c so the library's validation rejects the upload.
 */
import { createHash } from 'node:crypto'
import { CRC32C } from '@google-cloud/storage'

export interface FakeObject {
  bucket: string
  name: string
  data: Buffer
  md5Hash: string
  crc32c: string
}

export interface FakeGcs {
  url: string
  objects: Map<string, FakeObject>
  uploads: number
  /** Answer the next `n` upload requests with 503. */
  failUploads(n: number): void
  /** Report a wrong crc32c for the next `n` uploads (the object is stored anyway, as GCS would). */
  corruptUploads(n: number): void
  stop(): Promise<void>
}

function metadata(o: FakeObject): Record<string, unknown> {
  return {
    kind: 'storage#object', bucket: o.bucket, name: o.name, id: `${o.bucket}/${o.name}/1`,
    size: String(o.data.length), md5Hash: o.md5Hash, crc32c: o.crc32c, generation: '1',
    metageneration: '1', contentType: 'application/gzip',
  }
}

/** The media part of a `multipart/related` body (the second part). */
function mediaPart(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1]
  if (!boundary) return body
  const delim = Buffer.from(`--${boundary}`)
  const first = body.indexOf(delim)
  const second = body.indexOf(delim, first + delim.length)
  const end = body.indexOf(delim, second + delim.length)
  const headersEnd = body.indexOf('\r\n\r\n', second)
  // the part body ends with CRLF before the closing delimiter
  return body.subarray(headersEnd + 4, end - 2)
}

export function startFakeGcs(): FakeGcs {
  const objects = new Map<string, FakeObject>()
  let failing = 0
  let corrupting = 0
  const state = { uploads: 0 }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const u = new URL(req.url)
      const up = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname)
      if (req.method === 'POST' && up) {
        state.uploads++
        if (failing > 0) {
          failing--
          return Response.json({ error: { code: 503, message: 'injected failure' } }, { status: 503 })
        }
        const body = Buffer.from(await req.arrayBuffer())
        const data = Buffer.from(mediaPart(body, req.headers.get('content-type') ?? ''))
        const bucket = decodeURIComponent(up[1] as string)
        const name = u.searchParams.get('name') ?? ''
        const crc = new CRC32C()
        crc.update(data)
        const o: FakeObject = {
          bucket, name, data, md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc.toString(),
        }
        objects.set(`${bucket}/${name}`, o)
        if (corrupting > 0) {
          corrupting--
          return Response.json({ ...metadata(o), crc32c: 'AAAAAA==', md5Hash: 'AAAAAAAAAAAAAAAAAAAAAA==' })
        }
        return Response.json(metadata(o))
      }
      const get = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(u.pathname)
      if (req.method === 'GET' && get) {
        const o = objects.get(`${decodeURIComponent(get[1] as string)}/${decodeURIComponent(get[2] as string)}`)
        if (!o) return Response.json({ error: { code: 404, message: 'No such object' } }, { status: 404 })
        return Response.json(metadata(o))
      }
      if (req.method === 'DELETE' && get) {
        objects.delete(`${decodeURIComponent(get[1] as string)}/${decodeURIComponent(get[2] as string)}`)
        return new Response(null, { status: 204 })
      }
      return Response.json({ error: { code: 404, message: `fake gcs: no route ${req.method} ${u.pathname}` } }, { status: 404 })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}`,
    objects,
    get uploads() {
      return state.uploads
    },
    failUploads(n) {
      failing = n
    },
    corruptUploads(n) {
      corrupting = n
    },
    async stop() {
      await server.stop(true)
    },
  }
}
