import ArgumentParser
import DepotWalker
import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// Buffered standard output for reports; diagnostics go to standard error.
final class StandardOutput: TextSink {
    static let shared = StandardOutput()
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 20) }

    func write(_ bytes: UnsafeRawBufferPointer) {
        if buffer.count + bytes.count > 1 << 20 { flush() }
        if bytes.count >= 1 << 20 {
            ProgressLine.shared.reportStarts()
            _ = fwrite(bytes.baseAddress, 1, bytes.count, stdout)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func write(_ text: String) {
        var copy = text
        copy.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }

    func flush() {
        if !buffer.isEmpty { ProgressLine.shared.reportStarts() }
        buffer.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
        buffer.removeAll(keepingCapacity: true)
        fflush(stdout)
    }
}

enum Diagnostics {
    /// Inside a command body warnings wait for its end: they follow its report, or are left
    /// out when it fails, so a failure is the one line that names the file and the fault.
    nonisolated(unsafe) private static var pending: [String]?

    static func warn(_ text: String) {
        let line = "vmowner: warning: \(text)\n"
        if pending != nil {
            pending!.append(line)
        } else {
            ProgressLine.shared.erase()
            fputs(line, stderr)
        }
    }

    static func holdWarnings() { pending = [] }

    /// Prints the held warnings (`print`) or drops them, and stops holding.
    static func releaseWarnings(print: Bool) {
        let lines = pending ?? []
        pending = nil
        guard print, !lines.isEmpty else { return }
        ProgressLine.shared.erase()
        for line in lines { fputs(line, stderr) }
    }

    /// Says when stack frames cannot print exactly as the kernel's %pS would.
    static func warnAboutSymbols(_ symbolizer: Symbolizer, vmcore: String) {
        if symbolizer.usingFallback {
            warn("\(vmcore): \(symbolizer.fallbackReason ?? "no kallsyms"); symbols come from the vmlinux symbol table, whose sizes can differ from the kernel's")
        }
        if let problem = symbolizer.modulesProblem {
            warn("\(vmcore): module symbols unavailable (\(problem)); module frames print as addresses")
        }
    }
}

/// Runs a command body: bad input is one line on stderr and exit code 1, never a trap.
func runReporting(_ vmcore: String, _ body: () throws -> Void) throws {
    ProgressLine.shared.start()
    defer { ProgressLine.shared.stop() }
    Diagnostics.holdWarnings()
    do {
        try body()
        ProgressLine.shared.stop()
        StandardOutput.shared.flush()
        Diagnostics.releaseWarnings(print: true)
    } catch let error as InputError {
        ProgressLine.shared.stop()
        StandardOutput.shared.flush()
        Diagnostics.releaseWarnings(print: false)
        fputs("vmowner: \(error)\n", stderr)
        throw ExitCode(1)
    } catch let error as ExitCode {
        Diagnostics.releaseWarnings(print: true)
        throw error
    } catch {
        ProgressLine.shared.stop()
        StandardOutput.shared.flush()
        Diagnostics.releaseWarnings(print: false)
        fputs("vmowner: \(vmcore): \(error)\n", stderr)
        throw ExitCode(1)
    }
}
