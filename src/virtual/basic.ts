/**
 * The virtual controller's basic commands: what every host sends at bring-up, answered as an
 * LE-only Core v5.4 controller does (Vol 4 Part E):
 * 7.3.1 Set Event Mask, 7.3.2 Reset, 7.3.3 Set Event Filter, 7.3.69 Set Event Mask Page 2,
 * 7.3.78/7.3.79 Read/Write LE Host Support, 7.4.1 Read Local Version Information,
 * 7.4.2 Read Local Supported Commands, 7.4.3 Read Local Supported Features, 7.4.4 Read Local
 * Extended Features, 7.4.5 Read Buffer Size, 7.4.6 Read BD_ADDR, 7.8.1 LE Set Event Mask,
 * 7.8.2/7.8.93 LE Read Buffer Size v1/v2, 7.8.3 LE Read Local Supported Features,
 * 7.8.4 LE Set Random Address, 7.8.22 LE Encrypt (AES-128, Vol 3 Part H 2.2.1),
 * 7.8.23 LE Rand, 7.8.27 LE Read Supported States.
 */
import {
  LeEncrypt,
  LeRand,
  LeReadBufferSize,
  LeReadBufferSizeV2,
  LeReadLocalSupportedFeatures,
  LeReadSupportedStates,
  LeSetEventMask,
  LeSetRandomAddress,
  ReadBdAddr,
  ReadBufferSize,
  ReadLeHostSupport,
  ReadLocalExtendedFeatures,
  ReadLocalSupportedCommands,
  ReadLocalSupportedFeatures,
  ReadLocalVersionInformation,
  Reset,
  SetEventFilter,
  SetEventMask,
  SetEventMaskPage2,
  WriteLeHostSupport,
} from '../../hci/commands.ts'
import { Status } from '../../hci/constants.ts'
import { ControllerError } from './controller-error.ts'
import type { ControllerCore } from './core.ts'
import { supportedCommandsMask } from './supported-commands.ts'
import { leEncrypt } from './crypto.ts'

export { leEncrypt } from './crypto.ts'

/** LMP features page 0: bit 37 BR/EDR Not Supported, bit 38 LE Supported (Controller) (Vol 2 Part C 3.3). */
export function lmpFeaturesPage0(): Uint8Array {
  const f = new Uint8Array(8)
  f[4] = (1 << 5) | (1 << 6)
  return f
}

export function installBasic(c: ControllerCore): void {
  installSettings(c)
  installInformation(c)
  installRandomAndEncrypt(c)
}

/** What the Host sets: Reset, event masks and filters, LE Host Support, the random address. */
function installSettings(c: ControllerCore): void {
  let leHostSupported = 0

  c.onReset(() => {
    leHostSupported = 0
  })

  // 7.3.2: the core resets every module (advertising, scanning, connections) and its own state.
  c.handle(Reset, () => {
    c.resetState()
    return { status: 0 }
  })

  c.handle(SetEventMask, ({ eventMask }) => {
    c.eventMask = eventMask.slice()
    return { status: 0 }
  })
  c.handle(SetEventMaskPage2, ({ eventMaskPage2 }) => {
    c.eventMaskPage2 = eventMaskPage2.slice()
    return { status: 0 }
  })
  c.handle(LeSetEventMask, ({ eventMask }) => {
    c.leEventMask = eventMask.slice()
    return { status: 0 }
  })

  // 7.3.3: an LE-only controller has no inquiry or connection-setup filters; Clear All Filters
  // (type 0x00, no condition) is accepted, the BR/EDR filter types are not supported.
  c.handle(SetEventFilter, ({ filterType, condition }) => {
    if (filterType === 0x00) {
      if (condition.length !== 0) throw new ControllerError(Status.InvalidParameters)
      return { status: 0 }
    }
    if (filterType === 0x01 || filterType === 0x02) throw new ControllerError(Status.UnsupportedFeature)
    throw new ControllerError(Status.InvalidParameters)
  })

  c.handle(ReadLeHostSupport, () => ({ status: 0, leSupportedHost: leHostSupported, unused: 0 }))
  c.handle(WriteLeHostSupport, ({ leSupportedHost }) => {
    if (leSupportedHost > 1) throw new ControllerError(Status.InvalidParameters)
    leHostSupported = leSupportedHost
    return { status: 0 }
  })

  // 7.8.4: Command Disallowed while legacy advertising, scanning or initiating is enabled.
  c.handle(LeSetRandomAddress, ({ randomAddress }) => {
    if (c.busy('legacy-advertising') || c.busy('scanning') || c.busy('initiating')) {
      throw new ControllerError(Status.CommandDisallowed, 'advertising, scanning or initiating is enabled')
    }
    c.randomAddress = randomAddress
    return { status: 0 }
  })
}

/** What the Host reads at bring-up: version, features, commands, buffers, address, states. */
function installInformation(c: ControllerCore): void {
  c.handle(ReadLocalVersionInformation, () => ({
    status: 0,
    hciVersion: c.version.version,
    hciSubversion: c.version.subversion,
    lmpVersion: c.version.version,
    companyIdentifier: c.version.companyIdentifier,
    lmpSubversion: c.version.subversion,
  }))
  c.handle(ReadLocalSupportedCommands, () => ({
    status: 0,
    supportedCommands: supportedCommandsMask(c.handledOpcodes),
  }))
  c.handle(ReadLocalSupportedFeatures, () => ({ status: 0, lmpFeatures: lmpFeaturesPage0() }))
  // 7.4.4: page 0 is the page above; an LE-only controller has no further pages.
  c.handle(ReadLocalExtendedFeatures, ({ pageNumber }) => {
    if (pageNumber !== 0) throw new ControllerError(Status.InvalidParameters)
    return { status: 0, pageNumber: 0, maxPageNumber: 0, extendedLmpFeatures: lmpFeaturesPage0() }
  })
  // 7.4.5: an LE-only controller reports its (shared) ACL buffers here too; no SCO.
  c.handle(ReadBufferSize, () => ({
    status: 0,
    aclDataPacketLength: c.aclDataLength,
    synchronousDataPacketLength: 0,
    totalNumAclDataPackets: c.aclCount,
    totalNumSynchronousDataPackets: 0,
  }))
  c.handle(ReadBdAddr, () => ({ status: 0, bdAddr: c.address }))

  c.handle(LeReadBufferSize, () => ({
    status: 0,
    aclDataPacketLength: c.aclDataLength,
    totalNumLeAclDataPackets: c.aclCount,
  }))
  // 7.8.93: no ISO buffers (no ISO support).
  c.handle(LeReadBufferSizeV2, () => ({
    status: 0,
    aclDataPacketLength: c.aclDataLength,
    totalNumLeAclDataPackets: c.aclCount,
    isoDataPacketLength: 0,
    totalNumIsoDataPackets: 0,
  }))
  c.handle(LeReadLocalSupportedFeatures, () => ({ status: 0, features: c.features.slice() }))

  // 7.8.27: every combination of advertising, scanning, initiating, central and peripheral
  // (bits 0-41 of the states table) is supported by the emulator.
  c.handle(LeReadSupportedStates, () => {
    const states = new Uint8Array(8)
    for (let b = 0; b <= 41; b++) states[b >> 3]! |= 1 << (b & 7)
    return { status: 0, states }
  })
}

/** 7.8.23 LE Rand (from the link's seeded generator: deterministic runs) and 7.8.22 LE Encrypt. */
function installRandomAndEncrypt(c: ControllerCore): void {
  c.handle(LeRand, () => {
    const randomNumber = new Uint8Array(8)
    const s = c.link.scheduler
    for (let i = 0; i < 8; i++) randomNumber[i] = Math.floor(s.random() * 256)
    return { status: 0, randomNumber }
  })
  c.handle(LeEncrypt, ({ key, plaintextData }) => ({ status: 0, encryptedData: leEncrypt(key, plaintextData) }))
}
