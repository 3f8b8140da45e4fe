import Foundation
import Testing

/// The outside programs the export tests check vmowner's files with: Debian's chromium
/// (headless), Python with its protobuf package and protoc, and the official profile.proto
/// from Debian's golang-github-google-pprof-dev (scripts/install-test-tools.sh installs all).
enum ExportTools {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts")
    static let officialProfileProto = "/usr/share/gocode/src/github.com/google/pprof/proto/profile.proto"

    struct Failed: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Runs a program found on the PATH; fails the test with its stderr when it fails.
    static func run(_ program: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        timer.cancel()
        guard process.terminationStatus == 0 else {
            throw Failed(message: "\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errBox.data, as: UTF8.self).suffix(2000))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private final class Box: @unchecked Sendable { var data = Data() }

    static func python(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let text = try run("python3", [scripts.appendingPathComponent(script).path] + arguments)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw Failed(message: "\(script) printed no JSON object: \(text.prefix(500))")
        }
        return object
    }

    /// Headless Chromium as root in a container: no sandbox, no GPU.
    static func chromium(_ arguments: [String]) throws -> String {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        return try run("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                                    "--user-data-dir=\(profile.path)", "--no-first-run"] + arguments)
    }
}

/// show_stacks text as the kernel prints it, read back: pages per stack (frames innermost first).
func stackPages(showStacks text: String) -> [[String]: Int64] {
    var out: [[String]: Int64] = [:]
    var frames: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix(" ") {
            frames.append(String(line.dropFirst()))
        } else if line.hasPrefix("nr_base_pages: ") {
            let pages = Int64(line.dropFirst("nr_base_pages: ".count)) ?? -1
            if pages > 0 { out[frames, default: 0] += pages }
            frames = []
        }
    }
    return out
}

/// Folded stacks read back: pages per stack, frames turned back innermost first.
func stackPages(folded text: String) -> [[String]: Int64] {
    var out: [[String]: Int64] = [:]
    for line in text.split(separator: "\n") {
        guard let space = line.lastIndex(of: " "), let pages = Int64(line[line.index(after: space)...]) else {
            out[["unparsable line: \(line)"], default: 0] += 1
            continue
        }
        out[line[..<space].split(separator: ";").map(String.init).reversed(), default: 0] += pages
    }
    return out
}

/// `name+0xoff/0xsize [module]` -> `name [module]`, the function pprof names a frame by.
func functionName(_ frame: String) -> String {
    guard let plus = frame.firstIndex(of: "+"), plus != frame.startIndex else { return frame }
    if let module = frame.range(of: " [") { return String(frame[..<plus]) + String(frame[module.lowerBound...]) }
    return String(frame[..<plus])
}
