/**
 * The Filter Accept List itself (Core v5.4 Vol 6 Part B 4.3.1): the entries one controller holds
 * and the states that use it. The core owns one (`c.acceptList`); filter-accept-list.ts has the
 * HCI commands that change it (Vol 4 Part E 7.8.14-7.8.17), and advertising, scanning and
 * initiating read it. Address type 0xFF is the "anonymous advertisers" entry.
 */

/** Address_Type 0xFF: devices sending anonymous advertisements. */
export const ANONYMOUS = 0xff

/** A read-only view of the list. */
export interface FilterAcceptList {
  /** Is (type, address) on the list? Type 0xFF matches anonymous advertisers (address ignored). */
  has(type: number, address: string | undefined): boolean
  readonly size: number
  readonly entries: ReadonlyArray<{ type: number; address: string }>
}

export class AcceptList implements FilterAcceptList {
  readonly entries: Array<{ type: number; address: string }> = []
  /** States that use the list (advertising, scanning or initiating with a filter policy). */
  private readonly users: Array<() => boolean> = []

  get size(): number {
    return this.entries.length
  }

  has(type: number, address: string | undefined): boolean {
    if (type === ANONYMOUS || address === undefined) return this.entries.some((e) => e.type === ANONYMOUS)
    const a = address.toUpperCase()
    return this.entries.some((e) => e.type === type && e.address === a)
  }

  /** Declare a state that uses the list (7.8.15-7.8.17: the list cannot change meanwhile). */
  usedWhile(isUsing: () => boolean): void {
    this.users.push(isUsing)
  }

  /** Is a state using it now? */
  busy(): boolean {
    return this.users.some((f) => f())
  }
}
