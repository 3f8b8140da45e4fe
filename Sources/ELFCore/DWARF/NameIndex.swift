import CLibDW
import Glibc

/// Finds named top-level DWARF entries without indexing every DIE.
///
/// Two ways in: `find(_:_:in:)` searches one compile unit (the one a symbol hint points to),
/// and `lookup(_:_:)` consults a cache filled by a lazy, resumable scan of the top-level DIEs
/// (children of each unit DIE, never deeper, except the enumerators of enumeration types).
/// The scan stops as soon as the name asked for appears, so the first miss scans everything
/// and later lookups only read the cache.
final class NameIndex {
    enum Kind: CaseIterable { case structure, union, typedef, variable }

    /// Every unit DIE of .debug_info (and .debug_types), in file order.
    private(set) lazy var units: [Dwarf_Die] = Self.readUnits(dwarf)
    private(set) lazy var unitIndexByOffset: [UInt64: Int] = Dictionary(
        units.enumerated().map { ($0.element.offset, $0.offset) }, uniquingKeysWith: { first, _ in first })

    private let dwarf: OpaquePointer
    private var nextUnit = 0
    private var found: [Kind: [String: Dwarf_Die]] = [:]
    private var variableDeclarations: [String: Dwarf_Die] = [:]
    private var enumerators: [String: Int64] = [:]
    /// Name pointers already recorded, per kind: names read through DW_FORM_strp share one
    /// pointer into .debug_str, so repeats (every CU includes the same headers) cost no string.
    private var seen: [Kind: Set<UnsafeRawPointer>] = [:]
    private var seenVariableDefinitions: Set<UnsafeRawPointer> = []
    private var seenEnumerations: Set<UnsafeRawPointer> = []

    init(dwarf: OpaquePointer) { self.dwarf = dwarf }

    var scanComplete: Bool { nextUnit >= units.count }

    // MARK: One unit

    /// A complete (non-declaration) entry named `name` among the top-level DIEs of `unit`;
    /// for variables a definition is preferred but a declaration is accepted.
    func find(_ kind: Kind, _ name: String, in unit: Dwarf_Die) -> Dwarf_Die? {
        var declaration: Dwarf_Die?
        var result: Dwarf_Die?
        name.withCString { wanted in
            unit.forEachChild { die in
                guard Self.kind(of: die.tag) == kind, let dieName = die.namePointer, strcmp(dieName, wanted) == 0 else { return true }
                if !die.isDeclaration { result = die; return false }
                if declaration == nil { declaration = die }
                return true
            }
        }
        return result ?? (kind == .variable ? declaration : nil)
    }

    /// True when `unit` defines (not just declares) a variable named `name`.
    func definesVariable(_ name: String, in unit: Dwarf_Die) -> Bool {
        guard let die = find(.variable, name, in: unit) else { return false }
        return !die.isDeclaration
    }

    func enumerator(_ name: String, in unit: Dwarf_Die) -> Int64? {
        var value: Int64?
        unit.forEachChild { die in
            guard die.tag == Int32(DW_TAG_enumeration_type) else { return true }
            Self.forEachEnumerator(of: die) { enumeratorName, enumeratorValue in
                if value == nil, strcmp(enumeratorName, name) == 0 { value = enumeratorValue }
            }
            return value == nil
        }
        return value
    }

    // MARK: Whole file, cached

    /// The first complete entry of that kind and name in the file. Variables: the first
    /// definition, or a declaration when its type is already complete (a declaration and its
    /// definition agree on the type except for `extern T x[];`).
    func lookup(_ kind: Kind, _ name: String) -> Dwarf_Die? {
        while true {
            if let die = found[kind]?[name] { return die }
            if kind == .variable, let declaration = variableDeclarations[name], !Self.isIncompleteArray(declaration) {
                return declaration
            }
            guard scanNextUnit() else { break }
        }
        return kind == .variable ? variableDeclarations[name] : nil
    }

    func enumerator(_ name: String) -> Int64? {
        while true {
            if let value = enumerators[name] { return value }
            guard scanNextUnit() else { return nil }
        }
    }

    /// Indexes the next unit's top-level DIEs; false when all units are done.
    private func scanNextUnit() -> Bool {
        guard nextUnit < units.count else { return false }
        let unit = units[nextUnit]
        nextUnit += 1
        unit.forEachChild { die in
            let tag = die.tag
            if tag == Int32(DW_TAG_enumeration_type) {
                recordEnumerators(of: die)
            } else if let kind = Self.kind(of: tag) {
                record(kind, die)
            }
            return true
        }
        return true
    }

    private func record(_ kind: Kind, _ die: Dwarf_Die) {
        guard let pointer = die.namePointer else { return }
        let identity = UnsafeRawPointer(pointer)
        if kind == .variable {
            if seenVariableDefinitions.contains(identity) { return }
            if !die.isDeclaration {
                seenVariableDefinitions.insert(identity)
                found[.variable, default: [:]][String(cString: pointer)] = die
                return
            }
        } else if die.isDeclaration {
            return
        }
        guard seen[kind, default: []].insert(identity).inserted else { return }
        let name = String(cString: pointer)
        if kind == .variable {
            if variableDeclarations[name] == nil { variableDeclarations[name] = die }
        } else if found[kind]?[name] == nil {
            found[kind, default: [:]][name] = die
        }
    }

    /// Records the enumerators of an enumeration type once per distinct enum (identified by
    /// its name, or for an anonymous enum by its first enumerator's name).
    private func recordEnumerators(of die: Dwarf_Die) {
        guard !die.isDeclaration else { return }
        var first = Dwarf_Die()
        var copy = die
        let identity: UnsafeRawPointer
        if let name = die.namePointer {
            identity = UnsafeRawPointer(name)
        } else if dwarf_child(&copy, &first) == 0, let firstName = first.namePointer {
            identity = UnsafeRawPointer(firstName)
        } else {
            return
        }
        guard seenEnumerations.insert(identity).inserted else { return }
        Self.forEachEnumerator(of: die) { name, value in
            let key = String(cString: name)
            if enumerators[key] == nil { enumerators[key] = value }
        }
    }

    // MARK: Helpers

    static func forEachEnumerator(of enumeration: Dwarf_Die, _ body: (UnsafePointer<CChar>, Int64) -> Void) {
        let signed = enumeration.typeDIE.map(isSignedBase) ?? false
        enumeration.forEachChild { child in
            if child.tag == Int32(DW_TAG_enumerator), let name = child.namePointer,
               let value = child.constant(DW_AT_const_value, signedData: signed) {
                body(name, value)
            }
            return true
        }
    }

    /// True for a signed base type, looking through typedefs and qualifiers.
    static func isSignedBase(_ die: Dwarf_Die) -> Bool {
        var current = die
        for _ in 0..<16 {
            if current.tag == Int32(DW_TAG_base_type) {
                let encoding = current.unsigned(DW_AT_encoding) ?? 0
                return encoding == UInt64(DW_ATE_signed) || encoding == UInt64(DW_ATE_signed_char)
            }
            guard let next = current.typeDIE else { return false }
            current = next
        }
        return false
    }

    private static func isIncompleteArray(_ variable: Dwarf_Die) -> Bool {
        guard let type = variable.typeDIE, type.tag == Int32(DW_TAG_array_type) else { return false }
        return type.children(limit: 64).contains {
            $0.tag == Int32(DW_TAG_subrange_type) && !$0.has(DW_AT_count) && !$0.has(DW_AT_upper_bound)
        }
    }

    private static func kind(of tag: Int32) -> Kind? {
        switch Int(tag) {
        case DW_TAG_structure_type, DW_TAG_class_type: return .structure
        case DW_TAG_union_type: return .union
        case DW_TAG_typedef: return .typedef
        case DW_TAG_variable: return .variable
        default: return nil
        }
    }

    private static func readUnits(_ dwarf: OpaquePointer) -> [Dwarf_Die] {
        var units: [Dwarf_Die] = []
        var current: OpaquePointer?
        // Bounded: a corrupt header chain cannot loop forever.
        for _ in 0..<(1 << 22) {
            var next: OpaquePointer?
            var version: Dwarf_Half = 0
            var unitType: UInt8 = 0
            var unitDIE = Dwarf_Die()
            guard dwarf_get_units(dwarf, current, &next, &version, &unitType, &unitDIE, nil) == 0 else { break }
            if unitDIE.addr != nil { units.append(unitDIE) }
            current = next
        }
        return units
    }
}
