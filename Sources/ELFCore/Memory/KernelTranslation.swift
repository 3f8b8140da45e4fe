/// The dumped kernel's virtual → physical translation, for the architecture of the dump.
public enum KernelTranslation: Sendable {
    case x86_64(X86_64Translation)
    case arm64(ARM64Translation)

    /// Physical address of `va`, with how many bytes from there on stay physically contiguous
    /// under the same translation (at least 1).
    @inline(__always)
    public func translate(_ va: UInt64, memory: PhysicalMemory) throws -> (physical: UInt64, contiguous: UInt64) {
        switch self {
        case .x86_64(let t): return try t.translate(va, memory: memory)
        case .arm64(let t): return try t.translate(va, memory: memory)
        }
    }
}
