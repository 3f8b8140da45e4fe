import ELFCore

/// The per-cpu offsets of the possible CPUs: `per_cpu_ptr(p, cpu)` is `p + offsets[cpu]`.
/// `for_each_possible_cpu` visits the bits of `__cpu_possible_mask` below `nr_cpu_ids`.
public struct PossibleCPUs: Sendable {
    public let ids: [Int]
    public let offsets: [UInt64]

    public init(dump: KernelDump) throws {
        let memory = dump.memory
        let offsetsAt = try dump.requireAddress(of: "__per_cpu_offset")
        var slots = 1
        if case .array(_, let count?) = try dump.types.variableType("__per_cpu_offset").resolved { slots = count }
        guard slots >= 1, slots <= 1 << 16 else {
            throw InputError(file: dump.kernelFile, reason: "implausible __per_cpu_offset length \(slots)")
        }
        var limit = slots
        if let at = dump.address(of: "nr_cpu_ids") {
            limit = min(limit, Int(try memory.u32(at)))
        }
        var ids: [Int] = []
        if let maskAt = dump.address(of: "__cpu_possible_mask") {
            let words = (limit + 63) / 64
            let raw = try memory.bytes(maskAt, count: words * 8)
            for cpu in 0..<limit where raw[cpu / 8] >> UInt8(cpu % 8) & 1 != 0 { ids.append(cpu) }
        } else {
            ids = Array(0..<limit)
        }
        guard !ids.isEmpty else {
            throw InputError(file: dump.vmcorePath, reason: "no possible CPU in __cpu_possible_mask (nr_cpu_ids \(limit))")
        }
        self.ids = ids
        offsets = try ids.map { try memory.u64(offsetsAt &+ UInt64($0) &* 8) }
    }
}
