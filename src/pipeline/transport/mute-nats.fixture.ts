/**
 * A NATS server for tests that greets, answers PING and accepts CONNECT, then never answers a
 * request: a NATS black-holed after the client connected (a server frozen, a network partition),
 * so every JetStream API request of a start-up times out as it does when NATS goes away then.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net'

export interface MuteNats {
  url: string
  close(): Promise<void>
}

export async function startMuteNats(): Promise<MuteNats> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.write(`INFO ${JSON.stringify({ server_id: 'mute', server_name: 'mute', version: '2.10.0', proto: 1, headers: true, max_payload: 1 << 20, host: '127.0.0.1', port: 0 })}\r\n`)
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      let pings = 0
      text = text.replace(/PING\r\n/g, () => (pings++, ''))
      for (let i = 0; i < pings; i++) socket.write('PONG\r\n')
      if (text.length > 1 << 16) text = text.slice(-16)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `nats://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
