/**
 * Legacy and extended advertising (Core v5.4 Vol 4 Part E 7.8.5-7.8.9, 7.8.52-7.8.60;
 * Vol 6 Part B 4.4.2). Work in progress: handlers land in the next commit.
 */
import type { VirtualController } from './controller.ts'

export function installAdvertising(c: VirtualController): void {
  void c
}
