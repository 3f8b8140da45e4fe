#if canImport(Glibc)
import Glibc
#endif

// Two builds of one program. Built for fuzzing (-sanitize=fuzzer -DLIBFUZZER) libFuzzer owns
// main() and calls LLVMFuzzerTestOneInput with the target VMOWNER_FUZZ_TARGET names. Built
// normally it is a replay driver: `vmowner-fuzz TARGET FILE...` runs each file once, so that
// every crash reproducer stays a regression test.

#if LIBFUZZER
nonisolated(unsafe) private var selectedTarget: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selectedTarget == nil {
        let name = getenv("VMOWNER_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTargets.named(name) else {
            fputs("vmowner-fuzz: set VMOWNER_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: " "))\n", stderr)
            exit(2)
        }
        selectedTarget = target
    }
    selectedTarget?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links an executable with its `main` aliased to `<module>_main`, so libFuzzer's own
// main() is not used: this one hands over to libFuzzer's driver (LLVM 12+).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("vmowner_fuzz_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, fuzzerTestOneInput)
}
#else
@main
enum ReplayDriver {
    static let usage = """
    usage: vmowner-fuzz TARGET FILE|DIR...   run every input through TARGET once
           vmowner-fuzz --list               the targets
           vmowner-fuzz --kallsyms-seed VMLINUX VMCORE OUT [SYMBOLS]
                                             write a kallsyms input cut from a dump
    Targets that patch the seed dump read it from $VMOWNER_FUZZ_DUMP (vmlinux, vmcore).
    """

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "--list":
            for t in FuzzTargets.all { print("\(t.name)\t\(t.summary)") }
        case "--kallsyms-seed" where arguments.count >= 4:
            let symbols = arguments.count > 4 ? Int(arguments[4]) ?? 200 : 200
            do { try KallsymsTarget.writeSeed(vmlinux: arguments[1], vmcore: arguments[2], out: arguments[3], symbols: symbols) } catch {
                fputs("vmowner-fuzz: \(error)\n", stderr)
                exit(1)
            }
        case let name? where arguments.count >= 2:
            guard let target = FuzzTargets.named(name) else { fail("unknown target \(name)") }
            var count = 0
            for path in arguments.dropFirst() {
                for file in inputFiles(path) {
                    guard let input = readInput(file) else { fail("cannot read \(file)") }
                    input.withUnsafeBytes { target.run($0) }
                    count += 1
                }
            }
            fputs("vmowner-fuzz: \(name): \(count) inputs ran without a crash\n", stderr)
        default:
            fail(usage)
        }
    }

    static func fail(_ message: String) -> Never {
        fputs("vmowner-fuzz: \(message)\n", stderr)
        exit(2)
    }

    /// A file, or the regular files of a directory in name order.
    static func inputFiles(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [path] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix("."), entry.pointee.d_type == UInt8(DT_REG) { names.append(name) }
        }
        return names.sorted().map { "\(path)/\($0)" }
    }

    static func readInput(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return ferror(f) == 0 ? out : nil
    }
}
#endif
