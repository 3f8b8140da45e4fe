/// Turns function names of the call chains into runtime return addresses, like the addresses
/// an unwinder stores: inside the calling function, past a 5-byte call.
struct SymbolResolver {
    /// name -> (runtime start, bytes available for call sites)
    private var functions: [String: (UInt64, UInt64)] = [:]

    init(image: ELFImage, kallsyms: Kallsyms, kernelOffset: UInt64, module: ModuleLayout) {
        var nextAddress: [UInt64: UInt64] = [:]
        let addrs = kallsyms.entries.map { $0.address }
        for (i, a) in addrs.enumerated() {
            var j = i + 1
            while j < addrs.count && addrs[j] == a { j += 1 }
            if j < addrs.count { nextAddress[a] = addrs[j] }
        }
        for s in image.symbols where s.type == 2 || (s.type == 0 && s.bind == 1) {
            guard !s.name.isEmpty else { continue }
            // Inner labels have no size: their calls lie before the next symbol.
            let room = s.size > 0 ? s.size : (nextAddress[s.value].map { $0 - s.value } ?? 16)
            functions[s.name] = (s.value &+ kernelOffset, room)
        }
        for f in module.functions { functions["brd:" + f.name] = (f.address, UInt64(f.size)) }
    }

    func start(of name: String) -> UInt64? { functions[name]?.0 }

    /// Return address in `caller` for its call to `callee`.
    func returnAddress(caller: String, callee: String) -> UInt64 {
        guard let (start, room) = functions[caller] else {
            fatalError("vmsim internal error: unknown function \(caller)")
        }
        if Platform.current.isARM64 {
            // The instruction after a 4-byte `bl`, never past the function's last one.
            let slots = max(room / 4, 2) - 1
            return start &+ min(4 + 4 * (stableHash(caller + ">" + callee) % slots), room >= 4 ? room - 4 : 0)
        }
        let span = room > 12 ? room - 6 : 1
        let site = 5 + stableHash(caller + ">" + callee) % span
        return start &+ min(site, room > 0 ? room - 1 : 0)
    }

    /// Stack entries for a chain (innermost first), truncated to page_owner's 16 frames.
    func entries(_ chain: [String], leafCallee: String) -> [UInt64] {
        var out: [UInt64] = []
        for (i, f) in chain.prefix(16).enumerated() {
            out.append(returnAddress(caller: f, callee: i == 0 ? leafCallee : chain[i - 1]))
        }
        return out
    }
}
