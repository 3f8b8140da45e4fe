#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a name and what it does with one input. An input the code under test
/// rejects (a thrown error, a fault counted as a warning) is a pass; only a trap, a crash, a
/// hang or a sanitizer report is a finding.
struct FuzzTarget {
    let name: String
    /// What the input is and which code it drives, for `vmowner-fuzz --list`.
    let summary: String
    let run: (UnsafeRawBufferPointer) -> Void
}

enum FuzzTargets {
    static let all: [FuzzTarget] = [
        DumpFormatTargets.elfCore,
        DumpFormatTargets.kdump,
        DumpFormatTargets.flattened,
        DumpFormatTargets.xz,
        DumpFormatTargets.vmcoreinfo,
        KallsymsTarget.target,
        BTFTarget.target,
        SplitTarget.target,
    ] + PatchTargets.all

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// What a target made of an input, printed by the replay driver with VMOWNER_FUZZ_VERBOSE=1
/// (to check that seeds get past the first checks); silent while fuzzing.
enum FuzzLog {
    static let verbose: Bool = {
        #if LIBFUZZER
        return false
        #else
        return ProcessInfoLite.environment("VMOWNER_FUZZ_VERBOSE") != nil
        #endif
    }()

    static func note(_ text: @autoclosure () -> String) {
        if verbose { print("  \(text())") }
    }

    /// The value of `body`, or nil with the error noted.
    static func attempt<T>(_ what: String, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            note("\(what): \(error)")
            return nil
        }
    }
}

enum ProcessInfoLite {
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
