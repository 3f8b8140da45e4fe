/// A loaded module's symbols as the kernel's module kallsyms lookup sees them
/// (`struct module` → `kallsyms` → symtab/strtab), for `name+0xoff/0xsize [module]`.
public struct ModuleSymbols: Sendable {
    public let name: String
    /// Memory regions of the module: text first. An address in none of them is not the module's.
    public let regions: [ClosedOpenRange]
    public let text: ClosedOpenRange
    public let initText: ClosedOpenRange?
    /// Named, defined symbols sorted by address.
    public let symbols: [(address: UInt64, name: String)]

    public struct ClosedOpenRange: Sendable {
        public let start: UInt64
        public let end: UInt64
        public func contains(_ a: UInt64) -> Bool { a >= start && a < end }
    }

    /// `find_kallsyms_symbol`: the closest symbol at or below `address`; its size runs to the
    /// next symbol above the address or to the end of the text region.
    public func lookup(_ address: UInt64) -> (name: String, offset: UInt64, size: UInt64)? {
        let region = initText.flatMap { $0.contains(address) ? $0 : nil } ?? text
        var best: (address: UInt64, name: String)?
        var next = region.end
        for s in symbols {
            if s.address <= address {
                if s.address > (best?.address ?? 0) { best = s }
            } else if s.address < next {
                next = s.address
            }
        }
        guard let best, next > best.address else { return nil }
        return (best.name, address - best.address, next - best.address)
    }
}

/// Reads the `modules` list of the dumped kernel.
public enum ModuleList {
    static let maxModules = 10_000
    /// MOD_MEM_NUM_TYPES is 7 in 6.4–6.19; far more is not a kernel's.
    static let maxMemoryTypes = 64
    static let maxSymbolsPerModule: UInt64 = 1 << 20

    public static func read(dump: KernelDump) throws -> [ModuleSymbols] {
        let types = dump.types
        guard let head = dump.address(of: "modules") else { return [] }
        let module = try types.structType("module", near: "modules")
        let kallsymsType = try types.structType("mod_kallsyms", near: "modules")
        let listOffset = UInt64(try module.member("list").offset)
        let nameMember = try module.member("name")
        let kallsymsAt = UInt64(try module.member("kallsyms").offset)
        let symtabAt = UInt64(try kallsymsType.member("symtab").offset)
        let countMember = try kallsymsType.member("num_symtab")
        let strtabAt = UInt64(try kallsymsType.member("strtab").offset)
        let regionsOf = try regionReader(types: types, module: module)

        let memory = dump.memory
        var modules: [ModuleSymbols] = []
        var visited: Set<UInt64> = [head]
        var node = try memory.u64(head)
        while node != head {
            guard visited.insert(node).inserted else { throw KallsymsError("the modules list loops back on itself at 0x\(String(node, radix: 16))") }
            guard modules.count < maxModules else { throw KallsymsError("the modules list has more than \(maxModules) entries") }
            let mod = node &- listOffset
            let name = try memory.cString(mod &+ UInt64(nameMember.offset), max: max(nameMember.byteSize, 1))
            let (text, initText, regions) = try regionsOf(memory, mod)
            let kallsyms = try memory.u64(mod &+ kallsymsAt)
            var symbols: [(UInt64, String)] = []
            if kallsyms != 0 {
                let symtab = try memory.u64(kallsyms &+ symtabAt)
                let count = try memory.unsigned(kallsyms &+ UInt64(countMember.offset), size: countMember.byteSize)
                let strtab = try memory.u64(kallsyms &+ strtabAt)
                guard count <= maxSymbolsPerModule else { throw KallsymsError("module \(name) claims \(count) symbols") }
                let raw = try memory.bytes(symtab, count: Int(count) * 24)
                for i in 1..<max(Int(count), 1) {
                    let entry = i * 24          // Elf64_Sym: name u32, info, other, shndx u16, value u64
                    let nameOffset: UInt32 = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: entry, as: UInt32.self) }
                    let shndx: UInt16 = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: entry + 6, as: UInt16.self) }
                    let value: UInt64 = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: entry + 8, as: UInt64.self) }
                    guard shndx != 0 else { continue }                  // SHN_UNDEF
                    let symbolName = try memory.cString(strtab &+ UInt64(nameOffset), max: 512)
                    guard !symbolName.isEmpty, !isMappingSymbol(symbolName) else { continue }
                    symbols.append((value, symbolName))
                }
            }
            symbols.sort { $0.0 < $1.0 }
            modules.append(ModuleSymbols(name: name, regions: regions, text: text, initText: initText,
                                         symbols: symbols.map { (address: $0.0, name: $0.1) }))
            node = try memory.u64(node)
        }
        return modules
    }

    /// Local labels and ARM/RISC-V mapping symbols the kernel ignores.
    static func isMappingSymbol(_ name: String) -> Bool {
        name.hasPrefix("$") || name.hasPrefix(".L") || name.hasPrefix("L0")
    }

    typealias Regions = (text: ModuleSymbols.ClosedOpenRange, initText: ModuleSymbols.ClosedOpenRange?, all: [ModuleSymbols.ClosedOpenRange])

    /// 6.4+ keep `struct module_memory mem[MOD_MEM_NUM_TYPES]`; older kernels a core and an init
    /// `struct module_layout`. Decide by which member the DWARF shows.
    static func regionReader(types: any KernelTypes, module: TypeLayout) throws -> (KernelMemory, UInt64) throws -> Regions {
        typealias Range = ModuleSymbols.ClosedOpenRange
        if let mem = try module.memberIfPresent("mem") {
            let memory = try types.structType("module_memory", near: "modules")
            let stride = UInt64(memory.size)
            let base = UInt64(try memory.member("base").offset)
            let size = try memory.member("size")
            // Region indexes into mem[]: a count or index out of range is an error, not a trap
            // or a loop of 2^40 reads.
            let types64 = UInt64(maxMemoryTypes)
            let count = try types.enumerator("MOD_MEM_NUM_TYPES", in: 1...maxMemoryTypes, near: "modules") ?? 1
            let textIndex = try types.enumerator("MOD_TEXT", in: 0...types64 - 1, near: "modules") ?? 0
            let initIndex = try types.enumerator("MOD_INIT_TEXT", in: 0...types64 - 1, near: "modules")
            return { kmem, mod in
                func region(_ i: UInt64) throws -> Range {
                    let at = mod &+ UInt64(mem.offset) &+ i &* stride
                    let start = try kmem.u64(at &+ base)
                    let length = try kmem.unsigned(at &+ UInt64(size.offset), size: size.byteSize)
                    return Range(start: start, end: start &+ length)
                }
                var all: [Range] = []
                for i in 0..<max(count, 1) { all.append(try region(UInt64(i))) }
                let initText = try initIndex.map { try region($0) }
                return (try region(textIndex), initText, all.filter { $0.end > $0.start })
            }
        }
        let layout = try types.structType("module_layout", near: "modules")
        let core = UInt64(try module.member("core_layout").offset)
        let initLayout = try module.memberIfPresent("init_layout").map { UInt64($0.offset) }
        let base = UInt64(try layout.member("base").offset)
        let size = try layout.member("size")
        let textSize = try layout.member("text_size")
        return { kmem, mod in
            func read(_ at: UInt64) throws -> (whole: Range, text: Range) {
                let start = try kmem.u64(at &+ base)
                let whole = try kmem.unsigned(at &+ UInt64(size.offset), size: size.byteSize)
                let text = try kmem.unsigned(at &+ UInt64(textSize.offset), size: textSize.byteSize)
                return (Range(start: start, end: start &+ whole), Range(start: start, end: start &+ text))
            }
            let c = try read(mod &+ core)
            let i = try initLayout.map { try read(mod &+ $0) }
            return (c.text, i?.text, [c.whole] + (i.map { [$0.whole] } ?? []))
        }
    }
}
