import ELFCore

/// Reads every present entry of a kernel `struct xarray` (also `radix_tree_root` and the
/// tree inside `struct idr`) from a dump, in ascending index order.
///
/// Entry encoding (include/linux/xarray.h): bit 0 set is a value entry; low bits `10` mark an
/// internal entry, which is a node pointer (+2) when above 4096, otherwise a sibling, retry or
/// zero entry, all of which read as nothing here. Everything else is a plain pointer.
public struct XArrayWalk {
    public struct Entry: Equatable, Sendable {
        public let index: UInt64
        public let value: UInt64
    }

    let memory: KernelMemory
    let file: String
    let shiftOffset: Int
    let slotsOffset: Int
    let slotCount: Int
    /// Bounds for untrusted input: how many nodes a walk may visit before giving up.
    static let maxNodes = 1 << 20

    public init(dump: KernelDump) throws {
        let node = try dump.types.structType("xa_node", near: "xa_load")
        let slots = try node.member("slots")
        // XA_CHUNK_SIZE is a power of two (16 or 64): each level then takes log2(count) bits
        // of the index, so a tree is at most 64 / log2(count) levels deep (see `walk`).
        guard case .array(_, let count?) = slots.type.resolved, count >= 2, count <= 256, count & (count - 1) == 0 else {
            throw InputError(file: dump.kernelFile, reason: "struct xa_node.slots is not a fixed array in the \(dump.types.origin)")
        }
        self.init(memory: dump.memory, file: dump.vmcorePath,
                  shiftOffset: try node.member("shift").offset, slotsOffset: slots.offset, slotCount: count)
    }

    /// `slotCount` must be a power of two, 2...256 (checked where the DWARF is read).
    init(memory: KernelMemory, file: String, shiftOffset: Int, slotsOffset: Int, slotCount: Int) {
        self.memory = memory
        self.file = file
        self.shiftOffset = shiftOffset
        self.slotsOffset = slotsOffset
        self.slotCount = slotCount
    }

    static func isNode(_ entry: UInt64) -> Bool { entry & 3 == 2 && entry > 4096 }
    static func isInternal(_ entry: UInt64) -> Bool { entry & 3 == 2 }

    /// Every present entry under `head` (the xarray's `xa_head`), lowest index first.
    public func entries(head: UInt64) throws -> [Entry] {
        if head == 0 { return [] }
        if !Self.isNode(head) {
            return Self.isInternal(head) ? [] : [Entry(index: 0, value: head)]
        }
        var out: [Entry] = []
        var visited = Set<UInt64>()
        try walk(node: head &- 2, base: 0, parentShift: nil, out: &out, visited: &visited)
        return out
    }

    private func walk(node: UInt64, base: UInt64, parentShift: UInt64?, out: inout [Entry], visited: inout Set<UInt64>) throws {
        guard visited.insert(node).inserted else {
            throw InputError(file: file, reason: "xarray node 0x\(String(node, radix: 16)) is reached twice: the tree is corrupt")
        }
        guard visited.count <= Self.maxNodes else {
            throw InputError(file: file, reason: "xarray has more than \(Self.maxNodes) nodes: the tree is corrupt")
        }
        let shift = UInt64(try memory.u8(node &+ UInt64(shiftOffset)))
        // Each level sits exactly log2(slotCount) >= 1 bits below its parent, so the shift
        // shrinks on the way down: recursion is at most 64 levels deep, whatever the dump says.
        let chunkBits = UInt64(slotCount.trailingZeroBitCount)
        guard shift < 64, parentShift.map({ shift &+ chunkBits == $0 }) ?? true else {
            throw InputError(file: file, reason: "xarray node 0x\(String(node, radix: 16)) has shift \(shift) under a parent of shift \(parentShift ?? 0)")
        }
        let slots = try memory.bytes(node &+ UInt64(slotsOffset), count: slotCount * 8)
        for i in 0..<slotCount {
            var entry: UInt64 = 0
            for b in 0..<8 { entry |= UInt64(slots[i * 8 + b]) << (8 * UInt64(b)) }
            if entry == 0 { continue }
            let index = base &+ (UInt64(i) << shift)
            if Self.isNode(entry) {
                guard shift > 0 else {
                    throw InputError(file: file, reason: "xarray leaf node 0x\(String(node, radix: 16)) points to another node")
                }
                try walk(node: entry &- 2, base: index, parentShift: shift, out: &out, visited: &visited)
            } else if !Self.isInternal(entry) {
                out.append(Entry(index: index, value: entry))
            }
        }
    }
}
