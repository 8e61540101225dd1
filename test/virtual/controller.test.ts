import t from 'tap'
import { world, hostOn, rawOn, settle } from '../helpers/virtual.ts'

t.test('HciHost.init() completes against the emulator', async (t) => {
  const w = world()
  const { host, controller } = hostOn(w, { address: '11:22:33:44:55:66', aclDataLength: 100, aclCount: 5 })
  const info = await host.init()
  t.equal(info.address, '11:22:33:44:55:66')
  t.same(info.buffers.le, { length: 100, count: 5 })
  t.equal(info.hciVersion, 0x0d)
  t.equal(controller.stats.commands > 5, true)
})

t.test('unknown opcode -> Command Complete with Unknown HCI Command (0x01)', async (t) => {
  const w = world()
  const { raw } = rawOn(w)
  raw.command('ff fc 00') // vendor 0xfcff, no parameters
  await settle()
  // 0e len=4: ncmd=01 opcode=fcff status=01
  t.same(raw.takeEvents(), ['0e0401fffc01'])
})
