import Foundation

/// Builds the C fixture program (Fixtures/*.c) with gcc at a chosen DWARF version, and runs
/// layout_printer.c, compiled from the same declarations, to learn the true offsets and sizes.
enum DWARFFixture {
    struct Build {
        let binary: String
        /// Runtime addresses the fixture printed (-no-pie: equal to link-time addresses).
        let addresses: [String: UInt64]
    }

    /// What the C compiler says about the declarations.
    struct Facts {
        var sizes: [String: Int] = [:]
        var offsets: [String: Int] = [:]       // "page.lru" -> 8
        var bits: [String: (first: Int, width: Int)] = [:]
        var enums: [String: Int64] = [:]
        var constants: [String: Int] = [:]
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let scratch: String = {
        let path = NSTemporaryDirectory() + "vmowner-dwarf-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    private static let lock = NSLock()
    private static var builds: [String: Build] = [:]
    private static var cachedFacts: Facts?

    /// The fixture compiled with `-gdwarf-<version>` (or without -g when version is nil).
    static func build(dwarf version: Int?) throws -> Build {
        let key = version.map { "dwarf\($0)" } ?? "nodebug"
        lock.lock()
        defer { lock.unlock() }
        if let built = builds[key] { return built }
        let binary = "\(scratch)/fixture-\(key)"
        var flags = ["-O0", "-no-pie", "-fno-eliminate-unused-debug-types", "-I", sources]
        if let version { flags += ["-g", "-gdwarf-\(version)"] }
        try run("/usr/bin/gcc", flags + ["\(sources)/fixture_main.c", "\(sources)/fixture_other.c", "-o", binary])
        var addresses: [String: UInt64] = [:]
        for line in try run(binary, []).split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 3, words[0] == "addr", let value = UInt64(words[2].dropFirst(2), radix: 16) {
                addresses[String(words[1])] = value
            }
        }
        let built = Build(binary: binary, addresses: addresses)
        builds[key] = built
        return built
    }

    /// The DWARF 5 fixture with BTF as the kernel's build makes it (pahole -J from the DWARF):
    /// `stripped` keeps only the .BTF section, `raw` is the bare blob (`--btf FILE`).
    static func buildBTF() throws -> (stripped: String, raw: String) {
        let withDWARF = try build(dwarf: 5).binary
        lock.lock()
        defer { lock.unlock() }
        let encoded = "\(scratch)/fixture-btf", stripped = "\(scratch)/fixture-btf-stripped", raw = "\(scratch)/fixture.btf"
        if FileManager.default.fileExists(atPath: stripped) { return (stripped, raw) }
        try? FileManager.default.removeItem(atPath: encoded)
        try FileManager.default.copyItem(atPath: withDWARF, toPath: encoded)
        try run("/usr/bin/pahole", ["-J", encoded])
        try run("/usr/bin/pahole", ["--btf_encode_detached=\(raw)", withDWARF])
        try run("/usr/bin/objcopy", ["--strip-debug", encoded, stripped])
        return (stripped, raw)
    }

    static func facts() throws -> Facts {
        lock.lock()
        defer { lock.unlock() }
        if let cachedFacts { return cachedFacts }
        let printer = "\(scratch)/layout_printer"
        try run("/usr/bin/gcc", ["-O0", "-I", sources, "\(sources)/layout_printer.c", "-o", printer])
        var facts = Facts()
        for line in try run(printer, []).split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            switch (words.first, words.count) {
            case ("size", 3): facts.sizes[words[1]] = Int(words[2])
            case ("offset", 3): facts.offsets[words[1]] = Int(words[2])
            case ("bits", 4): facts.bits[words[1]] = (Int(words[2]) ?? -1, Int(words[3]) ?? -1)
            case ("enum", 3): facts.enums[words[1]] = Int64(words[2])
            case ("const", 3): facts.constants[words[1]] = Int(words[2])
            default: throw Failure(description: "layout_printer printed an unexpected line: \(line)")
            }
        }
        cachedFacts = facts
        return facts
    }

    /// Runs a program and returns its standard output; throws when it exits non-zero.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: errorData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
