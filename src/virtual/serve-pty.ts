/**
 * Serving a controller on a pseudo-terminal, for hosts that only know UART: H4 (Core v5.4 Vol 4
 * Part A 2) on a pty whose slave side is symlinked at a path the host opens like a serial port.
 *
 * Node cannot allocate a pty without a native addon, so `socat` does it (Debian package socat):
 *
 *   socat -d -d PTY,raw,echo=0,wait-slave,pty-interval=0.02 UNIX-CONNECT:<private socket>
 *
 * `wait-slave` makes socat create the pty and then wait until a process opens its slave side
 * before it connects to our private Unix socket (in a mkdtemp directory). So a connection on that
 * socket *is* a host opening the pty, and the session starts there: `controller.attach()` gives
 * it a reset controller. When the host closes the pty, socat reads EIO on the master and exits,
 * which ends the session (`controller.detach()`); a new socat, hence a brand-new pty, is started
 * for the next host and the symlink is pointed at it. Consequences:
 * - Nothing reaches a pty nobody has opened: the controller is not even attached, so no event is
 *   produced, and each session's pty is new, so nothing left from an earlier session (bytes the
 *   controller sent after the previous host stopped reading) can be delivered to the next host.
 * - Between two sessions the symlink is briefly absent (removed when socat exits, created again
 *   once the new pty exists: 'ready'); a host that opens it in that window gets ENOENT.
 * - We create the symlink ourselves (from socat's "PTY is /dev/pts/N" notice), atomically with
 *   rename, so 'ready' means the path works; on close we remove it if it is still ours.
 * socat runs in our process group; close() (SIGINT/SIGTERM in `hcikit link`) kills it by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { lstat, mkdtemp, readlink, rename, rm, symlink, unlink } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { startSession, type Served, type ServedController, type ServeObserver, type Session } from './serve.ts'

export interface PtyServeOptions {
  /** The socat executable (default 'socat' on PATH). */
  socat?: string
  /** How long socat may take to create a pty (default 5000 ms). */
  startTimeoutMs?: number
}

export class PtyServe implements Served {
  readonly spec: { kind: 'pty'; path: string }
  private child: ChildProcess | undefined
  private childExited: Promise<void> = Promise.resolve()
  private session: Session | undefined
  private currentDevice: string | undefined
  private closing: Promise<void> | undefined

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly server: net.Server,
    private readonly controller: ServedController,
    private readonly observer: ServeObserver,
    private readonly opts: Required<PtyServeOptions>,
  ) {
    this.spec = { kind: 'pty', path }
    server.on('connection', (socket) => this.accept(socket))
  }

  /** The pty device of the current (or next) session. */
  get device(): string | undefined {
    return this.currentDevice
  }

  /**
   * Create the pty and its symlink at `path`. An existing symlink at `path` (left by a killed
   * run) is replaced; anything else there is an error.
   */
  static async open(
    path: string,
    controller: ServedController,
    observer: ServeObserver = {},
    options: PtyServeOptions = {},
  ): Promise<PtyServe> {
    const abs = resolve(path)
    const existing = await lstat(abs).catch(() => undefined)
    if (existing && !existing.isSymbolicLink()) {
      throw new Error(`${abs} exists and is not a symlink: refusing to replace it`)
    }
    const dir = await mkdtemp(join(tmpdir(), 'hcikit-pty-'))
    const server = net.createServer()
    try {
      await new Promise<void>((res, rej) => {
        server.once('error', rej)
        server.listen(join(dir, 'h4.sock'), () => {
          server.off('error', rej)
          res()
        })
      })
    } catch (e) {
      await rm(dir, { recursive: true, force: true })
      throw e
    }
    const opts = { socat: options.socat ?? 'socat', startTimeoutMs: options.startTimeoutMs ?? 5000 }
    const served = new PtyServe(abs, dir, server, controller, observer, opts)
    try {
      await served.startPty()
    } catch (e) {
      await served.close()
      throw e
    }
    return served
  }

  /** Start socat for the next session and point the symlink at its pty. */
  private async startPty(): Promise<void> {
    const sock = join(this.dir, 'h4.sock')
    const child = spawn(
      this.opts.socat,
      ['-d', '-d', 'PTY,raw,echo=0,wait-slave,pty-interval=0.02', `UNIX-CONNECT:${sock}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    this.child = child
    const tail: string[] = []
    let started = false
    this.childExited = new Promise<void>((res) => {
      child.once('exit', (code, signal) => {
        res()
        if (started) void this.onSocatExit(child, code, signal, tail)
      })
    })

    const device = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => {
        rej(new Error(`socat did not create a pty within ${this.opts.startTimeoutMs} ms: ${tail.join(' | ')}`))
      }, this.opts.startTimeoutMs)
      const lines = createInterface({ input: child.stderr! })
      lines.on('line', (line) => {
        tail.push(line)
        if (tail.length > 8) tail.shift()
        const m = / PTY is (\S+)/.exec(line)
        if (m) {
          clearTimeout(timer)
          res(m[1]!)
        }
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        rej(
          (e as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error(`${this.opts.socat} not found: hcikit link serves ptys through socat (apt-get install socat)`)
            : e,
        )
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        rej(new Error(`socat exited (${signal ?? code}) before creating a pty: ${tail.join(' | ')}`))
      })
    })
    started = true
    this.currentDevice = device
    await this.link(device)
    this.observer.event?.({ kind: 'ready', device })
  }

  private async link(device: string): Promise<void> {
    const tmp = join(dirname(this.path), `.${process.pid}.${Date.now()}.hcikit-pty`)
    try {
      await symlink(device, tmp)
      await rename(tmp, this.path)
    } catch (e) {
      await unlink(tmp).catch(() => undefined)
      throw new Error(
        `cannot link ${this.path} to ${device}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      )
    }
  }

  private async unlinkIfOurs(): Promise<void> {
    const target = await readlink(this.path).catch(() => undefined)
    if (target !== undefined && target === this.currentDevice) await unlink(this.path).catch(() => undefined)
  }

  private accept(socket: net.Socket): void {
    if (this.session || this.closing) {
      // Only our socat knows the socket; a second connection would be a stray: drop it.
      socket.destroy()
      this.observer.event?.({
        kind: 'refused',
        from: this.currentDevice ?? 'pty',
        reason: 'a host is already connected',
      })
      return
    }
    this.observer.event?.({ kind: 'host-connected', from: this.currentDevice ?? 'pty' })
    const session = startSession(socket, this.controller, this.observer)
    this.session = session
    void session.done.then(() => {
      if (this.session === session) this.session = undefined
    })
  }

  private async onSocatExit(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    tail: string[],
  ): Promise<void> {
    if (this.child !== child) return
    this.child = undefined
    const hadSession = this.session !== undefined
    if (this.session) {
      this.session.end('pty closed')
      await this.session.done
    }
    await this.unlinkIfOurs()
    if (this.closing) return
    if (!hadSession && code !== 0) {
      this.observer.event?.({ kind: 'error', message: `socat exited (${signal ?? code}): ${tail.join(' | ')}` })
    }
    try {
      await this.startPty()
    } catch (e) {
      this.observer.event?.({ kind: 'error', message: `cannot serve ${this.path} any more: ${(e as Error).message}` })
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const child = this.child
      this.child = undefined
      if (this.session) {
        this.session.end('link shutting down')
        await this.session.done
      }
      if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await this.childExited
      }
      await this.unlinkIfOurs()
      await new Promise<void>((res) => this.server.close(() => res()))
      await rm(this.dir, { recursive: true, force: true })
    })()
    return this.closing
  }
}
