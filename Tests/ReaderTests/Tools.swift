import Foundation
import Testing

/// Runs the built executables (vmsim, vmowner) the way a user would.
enum Tools {
    /// The directory holding the built products: the test bundle sits beside them.
    static let productsDirectory: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }()

    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// The vmowner under test: `VMOWNER_BIN` when set (`make test-asan` points it at the
    /// AddressSanitizer build), else the one built beside the tests.
    static let vmownerPath: String = ProcessInfo.processInfo.environment["VMOWNER_BIN"].flatMap { $0.isEmpty ? nil : $0 }
        ?? productsDirectory.appendingPathComponent("vmowner").path

    /// Runs a built product (`vmsim`, `vmowner`).
    static func run(_ tool: String, _ arguments: [String]) throws -> Result {
        try runExecutable(tool == "vmowner" ? vmownerPath : productsDirectory.appendingPathComponent(tool).path, arguments)
    }

    /// Runs any executable by path.
    static func runExecutable(_ path: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read stderr beside stdout while the process runs, or a large report would block it.
        let errData = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData.data, as: UTF8.self))
    }

    private final class DataBox: @unchecked Sendable { var data = Data() }

    static func vmowner(_ arguments: String...) throws -> Result { try run("vmowner", arguments) }
}

/// Simulated dumps, made once per test process and shared by the tests that read them.
enum SimulatedDumps {
    private static let lock = NSLock()
    private static var made: [String: URL] = [:]
    static let root: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// The output folder of `vmsim --seed seed --memory memory extra...`.
    static func dump(seed: Int, memory: String, _ extra: [String] = []) throws -> URL {
        let key = ([String(seed), memory] + extra).joined(separator: "-")
        lock.lock()
        defer { lock.unlock() }
        if let dir = made[key] { return dir }
        let dir = root.appendingPathComponent(key)
        let result = try Tools.run("vmsim", ["--seed", String(seed), "--memory", memory, "--out", dir.path] + extra)
        guard result.status == 0 else {
            throw SimulationFailed(message: "vmsim \(key) failed (\(result.status)): \(result.stderr)")
        }
        made[key] = dir
        return dir
    }

    struct SimulationFailed: Error, CustomStringConvertible { let message: String; var description: String { message } }
}

extension URL {
    func file(_ name: String) -> String { appendingPathComponent(name).path }
}

/// Runs vmowner with `arguments` and expects it to succeed and print exactly the (non-empty)
/// file `expected`; returns what it printed.
@discardableResult
func expectReport(_ arguments: [String], equals expected: URL, _ what: String) throws -> Tools.Result {
    let result = try Tools.run("vmowner", arguments)
    #expect(result.status == 0, "\(what): \(result.stderr)")
    let text = try String(contentsOf: expected, encoding: .utf8)
    #expect(!text.isEmpty, "\(what): expected file is empty")
    #expect(result.text == text, "\(what): \(firstDifference(result.text, text) ?? "")")
    return result
}

/// The first line where two texts differ, for a readable failure.
func firstDifference(_ a: String, _ b: String) -> String? {
    let la = a.split(separator: "\n", omittingEmptySubsequences: false)
    let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(la.count, lb.count) {
        let x = i < la.count ? String(la[i]) : "<end>"
        let y = i < lb.count ? String(lb[i]) : "<end>"
        if x != y { return "line \(i + 1):\n  got:      \(x)\n  expected: \(y)" }
    }
    return nil
}
