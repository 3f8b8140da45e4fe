import Foundation
import Testing

/// The progress line: drawn on stderr only when it is a terminal (here a pty from
/// util-linux's `script`), erased at the end; never in a pipe.
@Suite struct ProgressLineTests {
    @Test func onATerminalOnly() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let vmowner = Tools.productsDirectory.appendingPathComponent("vmowner").path
        // Shown at once (VMOWNER_PROGRESS_AFTER=0) so a short run draws it; stdout to a file.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-progress-\(getpid()).txt")
        defer { try? FileManager.default.removeItem(at: out) }
        let command = "VMOWNER_PROGRESS_AFTER=0 '\(vmowner)' stacks '\(dir.file("vmlinux"))' '\(dir.file("vmcore"))' --from-pages > '\(out.path)'"
        let terminal = try ExportTools.run("script", ["-qec", command, "/dev/null"])
        #expect(terminal.contains("\r\u{1b}[Kvmowner: "), "\(terminal.debugDescription.prefix(300))")
        #expect(terminal.hasSuffix("\r\u{1b}[K"), "erased at the end: \(terminal.debugDescription.suffix(100))")
        let report = try String(contentsOf: out, encoding: .utf8)
        #expect(report == (try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore"), "--from-pages")).text)
        #expect(!report.contains("\u{1b}"))

        // A pipe: nothing but the report, whatever the delay.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: vmowner)
        process.arguments = ["stacks", dir.file("vmlinux"), dir.file("vmcore"), "--from-pages"]
        process.environment = ["VMOWNER_PROGRESS_AFTER": "0"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(stderr.isEmpty, "\(String(decoding: stderr, as: UTF8.self))")
    }
}
