/**
 * Test helper: a database with a known layout for the server tests, and a helper that feeds
 * hex requests to handleRequest and returns the hex response.
 *
 * Layout (handles fixed in the declaration, so the expected bytes in the tests can be written
 * from this table alone):
 *   0x0001-0x0005  GAP: 0x0003 Device Name "hcikit" (read), 0x0005 Appearance 0x0000
 *   0x0006-0x000D  GATT: 0x0008 Service Changed, 0x0009 its CCCD, 0x000B Client Supported
 *                  Features, 0x000D Database Hash
 *   0x0010-0x002A  primary 0xA000
 *     0x0011/0x0012 AA01 read|write        "hello"
 *     0x0013/0x0014 AA02 read|write        512 octets, octet i = i & 0xff
 *     0x0015/0x0016 AA03 read|notify|indicate  0x42, CCCD 0x0017
 *     0x0018/0x0019 AA04 read, encrypted    0x01
 *     0x001A/0x001B AA05 read|write, authenticated  0x02
 *     0x001C/0x001D AA06 read, key size 16  0x03
 *     0x001E/0x001F AA07 read, authorized   0x04
 *     0x0020/0x0021 AA08 write without response|signed writes, empty
 *     0x0022/0x0023 AA09 read, async onRead -> 09 09
 *     0x0024/0x0025 AA0A read|write, onRead throws AttributeError(0x80), onWrite throws Error
 *     0x0026/0x0027 AA0B write only, onWrite records
 *     0x0028/0x0029 AA0C notify only, CCCD 0x002A
 *   0x0030-0x0033  primary 6e400001-b5a3-f393-e0a9-e50e24dcca9e
 *     0x0031 include of 0x0040-0x0042 (0x180F)
 *     0x0032/0x0033 6e400002-b5a3-f393-e0a9-e50e24dcca9e read "x"
 *   0x0040-0x0042  secondary 0x180F: 0x0041/0x0042 Battery Level read 100
 */
import { AttributeDatabase, AttributeError, type WriteOptions } from '../../att/database.ts'
import { handleRequest, ServerConnection, type ServerSecurity } from '../../att/server.ts'
import type { ServerConnectionOptions } from '../../att/server-connection.ts'
import { fromHex, toHex } from '../../hci/wire.ts'

export const LONG = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff)

export interface Fixture {
  db: AttributeDatabase
  writes: { handle: number; value: string; opts: WriteOptions }[]
}

export function fixture(): Fixture {
  const writes: Fixture['writes'] = []
  const battery = {
    uuid: 0x180f,
    primary: false,
    handle: 0x40,
    characteristics: [{ uuid: 0x2a19, handle: 0x41, properties: ['read'] as const, value: new Uint8Array([100]) }],
  }
  const db = new AttributeDatabase({
    gap: { deviceName: 'hcikit' },
    services: [
      {
        uuid: 0xa000,
        handle: 0x10,
        characteristics: [
          { uuid: 0xaa01, handle: 0x11, properties: ['read', 'write'], value: 'hello' },
          { uuid: 0xaa02, handle: 0x13, properties: ['read', 'write'], value: LONG },
          { uuid: 0xaa03, handle: 0x15, properties: ['read', 'notify', 'indicate'], value: new Uint8Array([0x42]) },
          {
            uuid: 0xaa04,
            handle: 0x18,
            properties: ['read'],
            permissions: { read: 'encrypted' },
            value: new Uint8Array([1]),
          },
          {
            uuid: 0xaa05,
            handle: 0x1a,
            properties: ['read', 'write'],
            permissions: { read: 'authenticated', write: 'authenticated' },
            value: new Uint8Array([2]),
          },
          {
            uuid: 0xaa06,
            handle: 0x1c,
            properties: ['read'],
            permissions: { read: { keySize: 16 } },
            value: new Uint8Array([3]),
          },
          {
            uuid: 0xaa07,
            handle: 0x1e,
            properties: ['read'],
            permissions: { read: { authorized: true } },
            value: new Uint8Array([4]),
          },
          { uuid: 0xaa08, handle: 0x20, properties: ['writeWithoutResponse', 'authenticatedSignedWrites'] },
          { uuid: 0xaa09, handle: 0x22, properties: ['read'], onRead: async () => new Uint8Array([9, 9]) },
          {
            uuid: 0xaa0a,
            handle: 0x24,
            properties: ['read', 'write'],
            onRead: () => {
              throw new AttributeError(0x80)
            },
            onWrite: () => {
              throw new Error('boom')
            },
          },
          {
            uuid: 0xaa0b,
            handle: 0x26,
            properties: ['write'],
            onWrite: (_c, value, opts) => void writes.push({ handle: 0x27, value: toHex(value), opts }),
          },
          { uuid: 0xaa0c, handle: 0x28, properties: ['notify'] },
        ],
      },
      {
        uuid: '6e400001-b5a3-f393-e0a9-e50e24dcca9e',
        handle: 0x30,
        includes: [battery],
        characteristics: [
          { uuid: '6e400002-b5a3-f393-e0a9-e50e24dcca9e', handle: 0x32, properties: ['read'], value: 'x' },
        ],
      },
      battery,
    ],
  })
  return { db, writes }
}

export const OPEN: ServerSecurity = { encrypted: false, authenticated: false, keySize: 0 }
export const ENCRYPTED: ServerSecurity = { encrypted: true, authenticated: false, keySize: 16 }
export const AUTHENTICATED: ServerSecurity = { encrypted: true, authenticated: true, keySize: 16 }

export function connection(opts: ServerConnectionOptions = {}): ServerConnection {
  return new ServerConnection(opts)
}

/** Send a request written in hex (spaces allowed); the response in hex, or 'none'. */
export async function ask(db: AttributeDatabase, conn: ServerConnection, hex: string): Promise<string> {
  const r = await handleRequest(db, conn, fromHex(hex.replace(/\s+/g, '')))
  return r === undefined ? 'none' : toHex(r)
}

/** Hex with spaces removed, for expected values written in groups. */
export const h = (s: string): string => s.replace(/\s+/g, '')

/** Octets i..j-1 of LONG in hex. */
export const longHex = (i: number, j: number): string => toHex(LONG.subarray(i, j))
