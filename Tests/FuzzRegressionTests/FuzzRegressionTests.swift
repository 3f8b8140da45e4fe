import Foundation
import Testing

/// Every input that crashed a fuzz target (Tests/FuzzRegressions/TARGET/), replayed through
/// the plain build of `vmowner-fuzz TARGET FILE...`: each must now run to the end. Inputs of
/// the targets that patch the seed dump are replayed on the same vmsim machine `make fuzz`
/// patches (scripts/fuzz.sh).
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzRegressions")

    static var targetDirectories: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test func everyFolderIsNamedAfterATarget() throws {
        let list = try FuzzDriver.run(["--list"])
        #expect(list.status == 0)
        let names = Set(list.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) })
        #expect(names.contains("kdump") && names.contains("page-owner"), "targets: \(names)")
        for folder in Self.targetDirectories { #expect(names.contains(folder), "Tests/FuzzRegressions/\(folder) names no target") }
    }

    /// The patching targets find the pages of the seed dump their walk reads (the pages a
    /// patch may go to) and run an input on it.
    @Test(arguments: ["modules", "page-owner"])
    func patchTargetsRunOnTheSeedDump(target: String) throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-fuzz-empty-\(getpid())").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data([0x87, 0, 0x10, 0, 0])))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let result = try FuzzDriver.run([target, empty], seedDump: try SeedDump.path())
        #expect(result.status == 0, "\(result.stderr)")
        let pages = result.stderr.split(separator: "\n").first { $0.contains("patches go to the") }
            .flatMap { $0.split(separator: " ").compactMap { Int($0) }.first } ?? 0
        #expect(pages > (target == "modules" ? 0 : 50), "\(result.stderr)")
        #expect(result.stderr.contains("\(target): 1 inputs ran without a crash"))
    }

    @Test(arguments: targetDirectories)
    func reproducersNoLongerCrash(target: String) throws {
        let folder = Self.root.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        #expect(!files.isEmpty)
        let result = try FuzzDriver.run([target, folder.path], seedDump: FuzzDriver.patchesSeedDump(target) ? try SeedDump.path() : nil)
        #expect(result.status == 0, "vmowner-fuzz \(target) crashed or failed (status \(result.status)): \(result.stderr.suffix(2000))")
        #expect(result.stderr.contains("\(target): \(files.count) inputs ran without a crash"), "\(result.stderr.suffix(2000))")
    }
}

/// The replay driver, run as a separate process so that a crash fails one test, not the suite.
enum FuzzDriver {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ arguments: [String], seedDump: String? = nil) throws -> Result {
        let products = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let process = Process()
        process.executableURL = products.appendingPathComponent("vmowner-fuzz")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        if let seedDump { environment["VMOWNER_FUZZ_DUMP"] = seedDump }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errData = ErrBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Result(status: status, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData.data, as: UTF8.self))
    }

    private final class ErrBox: @unchecked Sendable { var data = Data() }

    /// The targets whose inputs are patches to the seed dump (their summary says so).
    static func patchesSeedDump(_ target: String) throws -> Bool {
        try run(["--list"]).stdout.split(separator: "\n")
            .contains { $0.hasPrefix("\(target)\t") && $0.contains("the seed dump patched") }
    }
}

/// The machine `make fuzz` patches: vmsim --seed 1 --memory 64M --kernel 6.19-swap, ELF.
enum SeedDump {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: String?

    static func path() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-fuzz-seed-\(getpid())").path
        let products = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let process = Process()
        process.executableURL = products.appendingPathComponent("vmsim")
        process.arguments = ["--seed", "1", "--memory", "64M", "--kernel", "6.19-swap", "--format", "elf", "--out", dir]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        made = dir
        atexit { SeedDump.remove() }        // 64 MB: not left behind in /tmp
        return dir
    }

    static func remove() {
        if let made { try? FileManager.default.removeItem(atPath: made) }
    }
}
