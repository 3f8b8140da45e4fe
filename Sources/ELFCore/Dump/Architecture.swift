/// The machine a dump or a vmlinux is for. Every dump format names it: an ELF core and a vmlinux
/// in `e_machine`, a kdump-compressed file in its header's utsname machine field.
public enum Architecture: String, Sendable, CaseIterable {
    case x86_64
    case arm64

    /// EM_X86_64 and EM_AARCH64 of the ELF specification.
    static let elfMachines: [UInt16: Architecture] = [62: .x86_64, 183: .arm64]
    /// What `uname -m` says on each: the kdump header copies the kernel's utsname.
    static let utsMachines: [String: Architecture] = ["x86_64": .x86_64, "aarch64": .arm64]

    public init?(elfMachine: UInt16) {
        guard let known = Self.elfMachines[elfMachine] else { return nil }
        self = known
    }

    public init?(utsMachine: String) {
        guard let known = Self.utsMachines[utsMachine] else { return nil }
        self = known
    }

    /// The page sizes the architecture's kernels are built with: x86_64 has only 4K;
    /// arm64 has the 4K, 16K and 64K translation granules.
    public var pageSizes: [UInt64] {
        switch self {
        case .x86_64: return [4096]
        case .arm64: return [4096, 16384, 65536]
        }
    }

    /// The line used when a dump or vmlinux is for neither architecture.
    static var supportedNames: String { allCases.map(\.rawValue).joined(separator: " and ") }
}
