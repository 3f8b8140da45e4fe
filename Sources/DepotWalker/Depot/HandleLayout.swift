import ELFCore

/// `union handle_parts`: how a 32-bit depot handle splits into pool index, offset and extra bits.
/// The widths and the meaning of the index changed at 6.1, 6.3, 6.8 and 6.9.
public struct HandleLayout: Sendable {
    public struct Bits: Sendable {
        let shift: UInt32
        let width: UInt32
        @inline(__always) func value(_ handle: UInt32) -> UInt32 {
            width >= 32 ? handle >> shift : (handle >> shift) & ((1 << width) - 1)
        }
    }

    public let index: Bits
    public let offset: Bits
    public let extraMask: UInt32
    /// 6.9+: the field is named `pool_index_plus_1` and always holds index + 1.
    public let indexIsPlusOne: Bool
    /// 6.8.0 – 6.9-rc2 named the field `pool_index` with no valid bit; in 6.8.3+ it held index+1
    /// under the same name, so both readings are tried against the record's stored handle.
    public let indexIsAmbiguous: Bool

    init(types: any KernelTypes) throws {
        let parts = try types.unionType("handle_parts", near: "stack_table")
        // A handle is a u32: every bitfield must lie in its 32 bits (the DWARF layer already
        // checked it lies inside the union).
        func bits(_ name: String) throws -> Bits? {
            guard let m = try parts.memberIfPresent(name), let width = m.bitSize else { return nil }
            let shift = m.offset * 8 + (m.bitOffset ?? 0)
            guard shift + width <= 32 else {
                throw InputError(file: parts.file, reason: "union handle_parts field '\(name)' has bits \(shift)+\(width), outside a 32-bit handle in the \(types.origin)")
            }
            return Bits(shift: UInt32(shift), width: UInt32(width))
        }
        if let plusOne = try bits("pool_index_plus_1") {
            index = plusOne
            indexIsPlusOne = true
            indexIsAmbiguous = false
        } else if let poolIndex = try bits("pool_index") ?? bits("slabindex") {
            index = poolIndex
            indexIsPlusOne = false
            indexIsAmbiguous = try parts.memberIfPresent("valid") == nil
        } else {
            throw InputError(file: parts.file, reason: "union handle_parts has no pool index bitfield")
        }
        guard let off = try bits("offset") else { throw InputError(file: parts.file, reason: "union handle_parts has no offset bitfield") }
        offset = off
        if let extra = try bits("extra") {
            extraMask = extra.width >= 32 ? 0 : ((1 << extra.width) - 1) << extra.shift
        } else {
            extraMask = 0
        }
    }

    /// The pool indexes this handle may mean, most likely first.
    func candidateIndexes(_ handle: UInt32) -> [UInt32] {
        let raw = index.value(handle)
        if indexIsPlusOne { return raw > 0 ? [raw - 1] : [] }
        if indexIsAmbiguous { return raw > 0 ? [raw, raw - 1] : [raw] }
        return [raw]
    }
}
