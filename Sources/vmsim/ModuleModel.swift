/// The loaded `brd` module: where its text and data live, its symbols, and how its struct
/// module and mod_kallsyms are laid out in the module's own data memory.
struct ModuleLayout {
    struct Function { let name: String; let address: UInt64; let size: Int }
    let name = "brd"
    let textBase: UInt64
    let textSize: UInt64
    let dataBase: UInt64
    let dataSize: UInt64
    let functions: [Function]

    init(base: UInt64) {
        textBase = base
        var at: UInt64 = 0
        var fns: [Function] = []
        for (n, size) in FunctionCatalog.moduleFunctions {
            fns.append(Function(name: n, address: base + at, size: size))
            at += (UInt64(size) + 15) & ~15
        }
        functions = fns
        let ps = MachineLayout.pageSize
        textSize = (at + ps - 1) & ~(ps - 1)
        dataBase = textBase + textSize
        dataSize = 3 * ps
    }

    /// Kernel-side %pS for a module address: name+off/size [brd], size to the next symbol or
    /// the end of the text.
    func symbolize(_ a: UInt64) -> String? {
        guard a >= textBase && a < textBase + textSize else { return nil }
        guard let f = functions.last(where: { $0.address <= a }) else { return nil }
        let next = functions.first(where: { $0.address > f.address })?.address ?? (textBase + textSize)
        return "\(f.name)+0x\(String(a - f.address, radix: 16))/0x\(String(next - f.address, radix: 16)) [\(name)]"
    }
}
