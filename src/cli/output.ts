/**
 * Buffered line output for the CLI: batches lines, honours back-pressure on stdout, and treats a
 * closed pipe (`hcikit decode big.log | head`) as a normal end rather than a crash.
 */
import type { Writable } from 'node:stream'

export class LineOutput {
  private buf: string[] = []
  private size = 0
  closed = false

  constructor(private readonly out: Writable = process.stdout) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true
      else throw e
    })
  }

  async line(s: string): Promise<void> {
    if (this.closed) return
    this.buf.push(s)
    this.size += s.length + 1
    if (this.size >= 64 * 1024) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.closed || this.buf.length === 0) return
    const chunk = this.buf.join('\n') + '\n'
    this.buf = []
    this.size = 0
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done)
          this.out.off('close', done)
          this.out.off('error', done)
          resolve()
        }
        this.out.on('drain', done)
        this.out.on('close', done)
        this.out.on('error', done)
      })
    }
  }
}
