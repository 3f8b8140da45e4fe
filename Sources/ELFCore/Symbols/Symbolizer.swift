/// Prints code addresses the way the kernel's `%pS` does: `name+0xoff/0xsize`, with
/// ` [module]` for module code, or `0x<16 hex digits>` when nothing contains the address.
public final class Symbolizer: @unchecked Sendable {
    /// True when the dump had no usable kallsyms and the vmlinux symbol table was used instead
    /// (sizes then come from ELF st_size and can differ from what the kernel printed).
    public let usingFallback: Bool
    public let fallbackReason: String?
    public let modules: [ModuleSymbols]
    /// Why the modules list could not be read (module frames then print as bare addresses).
    public let modulesProblem: String?
    private let kallsyms: Kallsyms?
    private let kernelStart: UInt64
    private let kernelEnd: UInt64
    private let fallback: ELFSymbolTable?
    private let kernelOffset: UInt64

    public init(dump: KernelDump) {
        let symbols = dump.symbols
        kernelOffset = dump.kernelOffset
        kernelStart = symbols.address(of: "_stext") ?? symbols.address(of: "_text") ?? 0
        kernelEnd = symbols.address(of: "_end") ?? .max
        fallback = dump.vmlinux?.symbols
        var table: Kallsyms?
        var reason: String?
        if let fromDump = (symbols as? KallsymsSymbols)?.kallsyms {
            table = fromDump
        } else if let location = Kallsyms.Location(dump) {
            do { table = try Kallsyms(memory: dump.memory, at: location) } catch { reason = "kallsyms in the dump unreadable (\(error))" }
        } else {
            reason = "neither VMCOREINFO nor the vmlinux locates kallsyms"
        }
        kallsyms = table
        usingFallback = table == nil
        fallbackReason = reason
        var problem: String?
        do { modules = try ModuleList.read(dump: dump) } catch {
            modules = []
            problem = "\(error)"
        }
        modulesProblem = problem
    }

    public func format(_ address: UInt64) -> String {
        if address >= kernelStart, address < kernelEnd, let found = kernelLookup(address) {
            return "\(found.name)+\(hex(found.offset))/\(hex(found.size))"
        }
        for module in modules where module.regions.contains(where: { $0.contains(address) }) {
            if let found = module.lookup(address) {
                return "\(found.name)+\(hex(found.offset))/\(hex(found.size)) [\(module.name)]"
            }
        }
        let digits = String(address, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    private func kernelLookup(_ address: UInt64) -> (name: String, offset: UInt64, size: UInt64)? {
        if let kallsyms { return kallsyms.lookup(address, end: kernelEnd) }
        guard let (symbol, offset) = fallback?.containing(address &- kernelOffset) else { return nil }
        return (symbol.name, offset, symbol.size)
    }

    private func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}
