import CLibDW

/// Small, non-trapping accessors on libdw's DIE handle. libdw takes pointers even for reads,
/// so each accessor works on a copy.
extension Dwarf_Die {
    var tag: Int32 {
        var die = self
        return dwarf_tag(&die)
    }

    var offset: UInt64 {
        var die = self
        return dwarf_dieoffset(&die)
    }

    /// The name pointer, following DW_AT_specification / abstract_origin. Equal names read
    /// through DW_FORM_strp share one pointer into .debug_str, which makes a cheap identity.
    var namePointer: UnsafePointer<CChar>? {
        var die = self
        return dwarf_diename(&die)
    }

    var name: String? { namePointer.map { String(cString: $0) } }

    /// True when the DIE itself (not what it refers to) carries the attribute.
    func has(_ attribute: Int) -> Bool {
        var die = self
        return dwarf_hasattr(&die, UInt32(attribute)) != 0
    }

    var isDeclaration: Bool { has(DW_AT_declaration) }

    /// An attribute of this DIE or of the DIE its DW_AT_specification / abstract_origin names.
    func attribute(_ attribute: Int) -> Dwarf_Attribute? {
        var die = self
        var result = Dwarf_Attribute()
        return dwarf_attr_integrate(&die, UInt32(attribute), &result) == nil ? nil : result
    }

    func unsigned(_ attribute: Int) -> UInt64? {
        guard var attr = self.attribute(attribute) else { return nil }
        var value: Dwarf_Word = 0
        return dwarf_formudata(&attr, &value) == 0 ? value : nil
    }

    /// A constant attribute whose sign is given by its form: sdata is signed, udata unsigned,
    /// and fixed-size data forms are sign-extended when `signedData` says so.
    func constant(_ attribute: Int, signedData: Bool) -> Int64? {
        guard var attr = self.attribute(attribute) else { return nil }
        let form = Int(dwarf_whatform(&attr))
        if form == DW_FORM_sdata || form == DW_FORM_implicit_const {
            var value: Dwarf_Sword = 0
            return dwarf_formsdata(&attr, &value) == 0 ? Int64(value) : nil
        }
        var raw: Dwarf_Word = 0
        guard dwarf_formudata(&attr, &raw) == 0 else { return nil }
        let bits: UInt64
        switch form {
        case DW_FORM_data1: bits = 8
        case DW_FORM_data2: bits = 16
        case DW_FORM_data4: bits = 32
        default: bits = 64
        }
        if signedData, bits < 64, raw & (1 << (bits - 1)) != 0 {
            return Int64(bitPattern: raw | ~((1 << bits) - 1))
        }
        return Int64(bitPattern: raw)
    }

    /// DW_AT_byte_size, or nil when absent.
    var byteSize: Int? { unsigned(DW_AT_byte_size).map { Int(clamping: $0) } }

    /// The DIE DW_AT_type points to; nil for void.
    var typeDIE: Dwarf_Die? {
        guard var attr = self.attribute(DW_AT_type) else { return nil }
        var result = Dwarf_Die()
        return dwarf_formref_die(&attr, &result) == nil ? nil : result
    }

    /// Children in order, at most `limit` of them (a bound against corrupt input).
    func children(limit: Int = 1 << 20) -> [Dwarf_Die] {
        var result: [Dwarf_Die] = []
        forEachChild(limit: limit) { result.append($0); return true }
        return result
    }

    /// Visits children in order until `body` returns false.
    func forEachChild(limit: Int = 1 << 24, _ body: (Dwarf_Die) -> Bool) {
        var parent = self
        var child = Dwarf_Die()
        guard dwarf_child(&parent, &child) == 0 else { return }
        var count = 0
        while count < limit, body(child) {
            count += 1
            var next = Dwarf_Die()
            guard dwarf_siblingof(&child, &next) == 0 else { return }
            child = next
        }
    }
}
