import CLibDW

/// The questions the walkers ask about the crashed kernel's types, answered the same way from
/// the vmlinux DWARF (DebugTypes) or from the kernel's BTF (BTFTypes): a walker never knows
/// where a layout came from. Implementations validate what they hand out (member bounds in
/// TypeLayout, enumerator ranges below), since both kinds of type information are input.
public protocol KernelTypes: AnyObject {
    /// "DWARF" or "BTF", for messages.
    var origin: String { get }
    /// The file the types were read from, for messages.
    var source: String { get }

    /// A complete struct or union by tag name. `near` names a global symbol whose compile unit
    /// is searched first where the format knows compile units (DWARF); BTF has one namespace.
    func aggregateType(_ name: String, union: Bool, near symbol: String?) throws -> TypeLayout
    /// What a typedef names, e.g. "depot_stack_handle_t" -> .typedef("u32", ...).
    func typedefTarget(_ name: String) throws -> TypeRef
    /// The first of `names` that an enum has, with its value; the unit of `symbol` first
    /// where the format has units.
    func enumeratorValue(anyOf names: [String], near symbol: String?) -> (name: String, value: Int64)?
    /// The declared type of a global or static variable.
    func variableType(_ name: String) throws -> TypeRef
    /// True when the kernel has a data object of that name.
    func hasVariable(_ name: String) -> Bool
    /// The layout of a named struct/union member's type, when a dotted path goes into it.
    func layout(of aggregate: AggregateRef) -> TypeLayout?
}

/// How a named member's struct/union type is found again: its DIE, or its BTF type id.
public struct AggregateRef {
    let die: Dwarf_Die?
    let btfID: UInt32

    init(die: Dwarf_Die) { self.die = die; btfID = 0 }
    init(btfID: UInt32) { die = nil; self.btfID = btfID }
}

extension KernelTypes {
    public func structType(_ name: String, near symbol: String? = nil) throws -> TypeLayout {
        try aggregateType(name, union: false, near: symbol)
    }

    public func unionType(_ name: String, near symbol: String? = nil) throws -> TypeLayout {
        try aggregateType(name, union: true, near: symbol)
    }

    /// The value of an enumerator of any enum, or nil when no enum has it.
    public func enumerator(_ name: String, near symbol: String? = nil) -> Int64? {
        enumeratorValue(anyOf: [name], near: symbol)?.value
    }

    /// An enumerator as a `T` inside `range`: nil when no enum has it, an error naming it when
    /// its value is outside the range (corrupt or crafted type information): what the caller
    /// shifts, indexes or counts with is then known to fit.
    public func enumerator<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>, near symbol: String? = nil) throws -> T? {
        try enumerator(anyOf: [name], in: range, near: symbol)
    }

    /// The value of the first of `names` (a kernel renamed some enumerators), checked as above.
    public func enumerator<T: FixedWidthInteger>(anyOf names: [String], in range: ClosedRange<T>, near symbol: String?) throws -> T? {
        guard let (name, raw) = enumeratorValue(anyOf: names, near: symbol) else { return nil }
        guard let value = T(exactly: raw), range.contains(value) else {
            throw InputError(file: source, reason: "enumerator \(name) = \(raw) in the \(origin) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// An enumerator that numbers a bit of a 64-bit word (a flag's position).
    public func bitNumber(_ name: String, near symbol: String? = nil) throws -> UInt64? {
        try enumerator(name, in: UInt64(0)...63, near: symbol)
    }

    /// Checks a struct/union found by name before handing it out: every member offset is
    /// checked against its size, and readers size buffers by it.
    func checkedAggregate(_ layout: TypeLayout?, _ name: String, union: Bool) throws -> TypeLayout {
        let what = "\(union ? "union" : "struct") \(name)"
        guard let layout else { throw InputError(file: source, reason: "type '\(what)' not found in the \(origin)") }
        guard layout.size > 0, layout.size <= TypeLayout.maxSize else {
            throw InputError(file: source, reason: "\(what) has size \(layout.size) in the \(origin), which no kernel type has")
        }
        return layout
    }
}
