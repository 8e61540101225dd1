/**
 * Every type the public API hands out or takes is exported from src/index.ts (issue 12: e.g.
 * `Connection`, which `client.connection` returns, was not). The TypeScript compiler reads the
 * package entry as a user's editor would, and walks, from everything index.ts exports, the types
 * of every public member (properties, getters, method parameters and results, event maps, type
 * arguments, union members), going on through each type it meets that is declared in this
 * repository. Each such named type (class, interface, type alias, enum) must be exported itself.
 *
 * The walk stops at the escape hatches below: members that hand out a lower layer on purpose, for
 * what the API does not cover (the HCI host, the L2CAP multiplexer, the ATT bearer, the GATT
 * client procedures), and the virtual link and controller, which are exported to be shared, not
 * driven. Their own types are reached through their modules, not through index.ts.
 * Constructors are not walked: users get adapters, clients and centrals from open(), connect()
 * and the 'connection' event.
 */
import t from 'tap'
import ts from 'typescript'
import { fileURLToPath } from 'node:url'
import { dirname, join, relative, sep } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Members that hand out a lower layer on purpose (Type.member). */
const ESCAPE_HATCHES: Record<string, string> = {
  'Adapter.hci': 'the HCI host underneath (hci/host.ts)',
  'Adapter.security':
    'SMP on every link (gap/security-manager.ts); bonds(), unpair() and connect({ security }) are the API',
  'ClientOptions.security': "the link's security agent (gap/link-security.ts), made by the adapter for each link",
  'Client.gatt': 'the GATT client procedures (att/client.ts)',
  'Connection.mux': 'the L2CAP multiplexer (att/l2cap/mux.ts)',
  'Connection.att': 'the ATT bearer (att/bearer.ts)',
  'Central.gatt': "the server's per-connection state (att/server-connection.ts)",
  'GattServer.attach': 'used by the adapter to serve a link',
  'Connection.receiveEvent': 'routing from gap/connections.ts',
  'Connection.receiveFrame': 'routing from gap/connections.ts',
  'Connection.onFrame': 'the AclLink seam of att/l2cap',
  'Connection.onClose': 'the AclLink seam of att/l2cap',
  'Connection.securityEvents': 'routing to the security layer (gap/link-security.ts)',
}

/** Exported types whose members are the layer below, not the API: not walked. */
const ESCAPE_TYPES: Record<string, string> = {
  VirtualLink: 'the virtual air (src/virtual/link.ts): createVirtualLink() hands it out to share, not to drive',
  VirtualController: 'the virtual controller (src/virtual/controller.ts), for tests of the link layer',
}

function inRepo(d: ts.Declaration): string | undefined {
  const f = d.getSourceFile().fileName
  const rel = relative(root, f)
  if (rel.startsWith('..') || rel.split(sep).includes('node_modules')) return undefined
  return rel
}

const NAMED = ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias | ts.SymbolFlags.Enum

t.test('every type the API hands out or takes is exported from src/index.ts', async (t) => {
  const program = ts.createProgram([join(root, 'src', 'index.ts')], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  const index = program.getSourceFile(join(root, 'src', 'index.ts'))!
  const moduleSymbol = checker.getSymbolAtLocation(index)!
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s)
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolve))
  t.ok(exported.size > 50, `${exported.size} exports`)

  const missing = new Map<string, string>()
  const walkedSymbols = new Set<ts.Symbol>()
  const seenTypes = new Set<ts.Type>()
  const queue: ts.Symbol[] = [...exported]

  const named = (s: ts.Symbol, via: string): void => {
    const sym = resolve(s)
    const decl = sym.declarations?.[0]
    if (!decl || !(sym.flags & NAMED) || !inRepo(decl)) return
    if (!exported.has(sym) && !missing.has(sym.name)) missing.set(sym.name, `${via} (declared in ${inRepo(decl)})`)
    if (!walkedSymbols.has(sym)) queue.push(sym)
  }

  const visit = (type: ts.Type, via: string): void => {
    if (seenTypes.has(type)) return
    seenTypes.add(type)
    if (type.aliasSymbol) {
      named(type.aliasSymbol, via)
      for (const a of type.aliasTypeArguments ?? []) visit(a, via)
      return
    }
    if (type.isUnionOrIntersection()) {
      for (const u of type.types) visit(u, via)
      return
    }
    const sym = type.getSymbol()
    if (sym && sym.flags & NAMED) named(sym, via)
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)
      for (const a of checker.getTypeArguments(type as ts.TypeReference)) visit(a, via)
    // Anonymous object types and function types: their members are part of the surface too.
    if (
      sym &&
      sym.flags & (ts.SymbolFlags.TypeLiteral | ts.SymbolFlags.ObjectLiteral) &&
      sym.declarations?.some(inRepo)
    )
      walkMembers(type, via)
    for (const sig of type.getCallSignatures()) walkSignature(sig, via)
  }

  const walkSignature = (sig: ts.Signature, via: string): void => {
    for (const p of sig.getParameters()) visit(checker.getTypeOfSymbol(p), `${via}(${p.name})`)
    visit(sig.getReturnType(), `${via}()`)
  }

  const hidden = (d: ts.Declaration): boolean => {
    const flags = ts.getCombinedModifierFlags(d)
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return true
    const name = (d as ts.NamedDeclaration).name
    if (name && ts.isPrivateIdentifier(name)) return true
    return ts.getJSDocTags(d).some((tag) => tag.tagName.text === 'internal')
  }

  const walkMembers = (type: ts.Type, owner: string): void => {
    for (const prop of checker.getPropertiesOfType(type)) {
      const decl = prop.declarations?.[0]
      if (!decl || !inRepo(decl) || hidden(decl)) continue
      const where = `${owner}.${prop.name}`
      if (ESCAPE_HATCHES[where]) continue
      visit(checker.getTypeOfSymbolAtLocation(prop, decl), where)
    }
  }

  while (queue.length > 0) {
    const sym = queue.shift()!
    if (walkedSymbols.has(sym)) continue
    walkedSymbols.add(sym)
    const decl = sym.declarations?.[0]
    if (!decl || !inRepo(decl)) continue
    if (sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      visit(checker.getTypeOfSymbolAtLocation(sym, decl), sym.name)
    } else if (ESCAPE_TYPES[sym.name]) {
    } else if (sym.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
      walkMembers(checker.getDeclaredTypeOfSymbol(sym), sym.name)
    } else if (sym.flags & ts.SymbolFlags.TypeAlias) {
      const type = checker.getDeclaredTypeOfSymbol(sym)
      seenTypes.delete(type)
      const { aliasSymbol } = type
      // Walk what the alias stands for, not the alias itself.
      if (type.isUnionOrIntersection()) for (const u of type.types) visit(u, sym.name)
      else if (aliasSymbol === sym) walkMembers(type, sym.name)
      else visit(type, sym.name)
    }
  }

  const list = [...missing].map(([name, via]) => `${name}: reached through ${via}`).sort()
  t.same(list, [], 'named types the API uses but index.ts does not export')
  t.ok(walkedSymbols.size > exported.size / 2, `${walkedSymbols.size} types walked`)
  for (const name of ['Connection', 'CreditChannel', 'ChannelListener', 'LinkParameters', 'ServicesChanged'])
    t.ok(
      [...exported].some((s) => s.name === name),
      `${name} is exported`,
    )
})
