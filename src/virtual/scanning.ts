/**
 * Legacy and extended scanning (Core v5.4 Vol 4 Part E 7.8.10-7.8.11, 7.8.64-7.8.65;
 * Vol 6 Part B 4.4.3). Work in progress: handlers land in the next commit.
 */
import type { VirtualController } from './controller.ts'

export function installScanning(c: VirtualController): void {
  void c
}
