/**
 * The typed event map of the public API's state changes (docs/ARCHITECTURE.md, house style 9:
 * typed events for state changes only; data flows through promises and async iterators). A
 * listener that throws does not stop the others or the emitter: the error is rethrown on a later
 * tick (like an EventEmitter listener's, it is the application's bug and should be seen).
 */
export class Emitter<Events> {
  private readonly listeners: { [K in keyof Events]?: ((e: Events[K]) => void)[] } = {}

  /** Listen; returns the function that stops listening. */
  on<K extends keyof Events>(event: K, cb: (e: Events[K]) => void): () => void {
    const list = (this.listeners[event] ??= [])
    list.push(cb)
    return () => {
      const i = list.indexOf(cb)
      if (i >= 0) list.splice(i, 1)
    }
  }

  emit<K extends keyof Events>(event: K, e: Events[K]): void {
    for (const cb of [...(this.listeners[event] ?? [])]) {
      try {
        cb(e)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }
}
