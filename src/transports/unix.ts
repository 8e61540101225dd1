/**
 * H4 over a Unix domain socket (Core v5.4 Vol 4 Part A 2 framing of Vol 4 Part E 5.4 packets):
 * spec `unix:PATH`, the host connecting to a controller served on a local socket (an emulator,
 * a bridge process). Like TCP, a socket loses no bytes: a framing error closes the transport.
 */
import net from 'node:net'
import type { H4StreamTransport } from './h4-stream.ts'
import { wrapConnecting, type ConnectOptions } from './tcp.ts'

/** `unix:PATH`: connect to a controller served as H4 on a Unix socket. */
export function connectUnix(path: string, opts: ConnectOptions = {}): Promise<H4StreamTransport> {
  const socket = net.connect({ path })
  return wrapConnecting(socket, `unix:${path}`, opts, (code) =>
    code === 'ENOENT'
      ? `no socket at ${path}: start the program that serves the controller first`
      : code === 'ECONNREFUSED'
        ? `${path} exists but nobody listens on it (a stale socket file?)`
        : code === 'EACCES'
          ? `no permission to connect to ${path}: check its owner and mode`
          : undefined,
  )
}
