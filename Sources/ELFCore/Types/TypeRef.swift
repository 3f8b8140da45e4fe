/// A C type as DWARF or BTF declares it. const/volatile/restrict/_Atomic are dropped; typedefs are
/// kept with their name (use `resolved` to see through them). Structs, unions and enums are
/// references by name and size: resolve a struct's members with KernelTypes.structType.
public indirect enum TypeRef: Equatable, CustomStringConvertible {
    case base(name: String, size: Int, signed: Bool)
    /// `.pointer(.void)` for `void *`.
    case pointer(TypeRef)
    /// count nil for a flexible array member (`x[]`); `int a[2][3]` is
    /// `.array(.array(int, count: 3), count: 2)`.
    case array(TypeRef, count: Int?)
    /// Name "" for an anonymous struct; size 0 when only a declaration was seen.
    case structure(name: String, size: Int)
    case union(name: String, size: Int)
    case enumeration(name: String, size: Int)
    case typedef(name: String, TypeRef)
    case function
    case void

    /// Size in bytes through typedefs; pointers are 8. nil for void, functions and
    /// flexible arrays.
    public var size: Int? {
        switch self {
        case .base(_, let size, _), .structure(_, let size), .union(_, let size), .enumeration(_, let size):
            return size
        case .pointer: return 8
        case .array(let element, let count):
            guard let count, let elementSize = element.size else { return nil }
            let (total, overflow) = elementSize.multipliedReportingOverflow(by: count)
            return overflow ? nil : total
        case .typedef(_, let target): return target.size
        case .function, .void: return nil
        }
    }

    /// The type with typedefs stripped (qualifiers are never kept).
    public var resolved: TypeRef {
        var type = self
        // Typedef chains are short; the bound only guards against a malformed self-reference.
        for _ in 0..<64 {
            guard case .typedef(_, let target) = type else { return type }
            type = target
        }
        return type
    }

    public var description: String {
        switch self {
        case .base(let name, _, _): return name
        case .pointer(let target): return "\(target) *"
        case .array(let element, let count): return "\(element)[\(count.map(String.init) ?? "")]"
        case .structure(let name, _): return "struct \(name.isEmpty ? "<anonymous>" : name)"
        case .union(let name, _): return "union \(name.isEmpty ? "<anonymous>" : name)"
        case .enumeration(let name, _): return "enum \(name.isEmpty ? "<anonymous>" : name)"
        case .typedef(let name, _): return name
        case .function: return "function"
        case .void: return "void"
        }
    }
}
