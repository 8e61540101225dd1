/**
 * UART transport (Core v5.4 Vol 4 Part A, "UART Transport Layer": H4 packet indicators in front
 * of the HCI packets of Vol 4 Part E 5.4; RTS/CTS flow control as Part A 1 recommends), spec
 * `uart:PATH[@BAUD][,noflow]`, over `@serialport/stream` with `@serialport/bindings-cpp`.
 *
 * Opening: the port is opened (locked against other programs), the OS input buffer flushed, and
 * then the stream is synchronised: HCI_Reset is sent and every byte up to and including its
 * Command Complete is dropped (h4-stream.ts), so stale bytes from before the open (a previous
 * session's events, a half packet) never reach the host. No answer in time almost always means
 * a wrong baud rate, wrong flow control, or a device that is not an H4 controller: the error
 * says so. After a loss of sync mid-session, the same Reset hunt runs and the host is told with
 * a Hardware Error event (h4-stream.ts).
 *
 * The serial binding is a parameter (`binding`) so tests and other platforms can supply their
 * own; by default `@serialport/bindings-cpp`'s autoDetect() is loaded on first use.
 */
import type { Duplex } from 'node:stream'
import { TransportError } from '../../hci/errors.ts'
import { H4StreamTransport, type H4StreamOptions } from './h4-stream.ts'

export interface UartOptions {
  baudRate?: number
  /** RTS/CTS hardware flow control (default true). */
  flowControl?: boolean
  signal?: AbortSignal
  /** How long the controller may take to answer the synchronising Reset (default 3000 ms). */
  timeout?: number
  /** A @serialport binding (default: @serialport/bindings-cpp autoDetect()). */
  binding?: unknown
  onSyncEvent?: H4StreamOptions['onSyncEvent']
}

function explainOpenError(path: string, e: Error): TransportError {
  const m = e.message
  let hint: string | undefined
  if (/ENOENT|No such file/i.test(m)) {
    hint = `no serial port at ${path}: list them with \`ls /dev/ttyUSB* /dev/ttyACM*\` (macOS: /dev/cu.*; Windows: COMn)`
  } else if (/EACCES|Permission denied|Access denied/i.test(m)) {
    hint =
      'no permission to open the port: `sudo usermod -aG dialout $USER` (then log in again), or a udev rule ' +
      'with MODE="0660", GROUP="dialout"'
  } else if (/lock|EBUSY|busy|Resource temporarily unavailable/i.test(m)) {
    hint = `another program holds ${path} (a serial monitor, ModemManager, hciattach/btattach?): close it, or \`fuser ${path}\` to find it`
  }
  return new TransportError(`uart:${path}: cannot open: ${m}`, hint === undefined ? { cause: e } : { cause: e, hint })
}

async function loadSerial(
  binding: unknown,
): Promise<{ SerialPortStream: new (o: object) => Duplex & SerialPortLike; binding: unknown }> {
  try {
    const stream = await import('@serialport/stream')
    const b = binding ?? (await import('@serialport/bindings-cpp')).autoDetect()
    return {
      SerialPortStream: stream.SerialPortStream as unknown as new (o: object) => Duplex & SerialPortLike,
      binding: b,
    }
  } catch (e) {
    throw new TransportError(`uart: the serial port library does not load: ${(e as Error).message}`, {
      cause: e,
      hint:
        'reinstall with `npm install @serialport/bindings-cpp` (it ships prebuilt binaries for common ' +
        'platforms; elsewhere `npm rebuild @serialport/bindings-cpp` needs a C++ toolchain)',
    })
  }
}

/** The part of SerialPortStream used here. */
interface SerialPortLike {
  readonly isOpen: boolean
  open(cb: (err: Error | null) => void): void
  close(cb: (err: Error | null) => void): void
  flush(cb: (err: Error | null) => void): void
}

/** `uart:PATH[@BAUD][,noflow]`: open, flush, synchronise with a Reset. */
export async function openUart(path: string, opts: UartOptions = {}): Promise<H4StreamTransport> {
  const baudRate = opts.baudRate ?? 115200
  const flowControl = opts.flowControl ?? true
  const name = `uart:${path}@${baudRate}${flowControl ? '' : ',noflow'}`
  opts.signal?.throwIfAborted()
  const { SerialPortStream, binding } = await loadSerial(opts.binding)
  const port = new SerialPortStream({ binding, path, baudRate, rtscts: flowControl, autoOpen: false, lock: true })
  port.on('error', () => undefined) // reported through the transport once it exists
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(explainOpenError(path, err)) : resolve())),
  )
  try {
    await new Promise<void>((resolve, reject) => port.flush((err) => (err ? reject(err) : resolve())))
  } catch (e) {
    port.close(() => undefined)
    throw new TransportError(`${name}: cannot flush the input buffer: ${(e as Error).message}`, { cause: e })
  }
  const closeStream = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve()
      port.close(() => resolve())
    })
  const transport = new H4StreamTransport(port, {
    name,
    resync: 'reset',
    closeStream,
    onSyncEvent: opts.onSyncEvent,
  })
  const timeout = opts.timeout ?? 3000
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([
      transport.synchronise(false),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TransportError(`${name}: no answer to HCI_Reset within ${timeout} ms`, {
                hint: `check the baud rate (many controllers start at 115200; this was ${baudRate}), flow control (${
                  flowControl ? 'add ,noflow if RTS/CTS are not wired' : 'the controller may need RTS/CTS: drop ,noflow'
                }), and that the device speaks H4`,
              }),
            ),
          timeout,
        )
        transport.onClose((err) => reject(err ?? new TransportError(`${name}: closed while synchronising`)))
        if (opts.signal) {
          onAbort = () => reject(opts.signal!.reason)
          opts.signal.addEventListener('abort', onAbort, { once: true })
        }
      }),
    ])
  } catch (e) {
    await transport.close()
    throw e
  } finally {
    clearTimeout(timer)
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort)
  }
  return transport
}
