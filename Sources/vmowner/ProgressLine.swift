import DepotWalker
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress report on stderr for commands that take longer than a second
/// (large dumps, xz or kdump inputs): only when stderr is a terminal, drawn in place and
/// erased when the command ends. Once the report itself starts on the same terminal, the
/// line steps aside for good so the two never mix.
final class ProgressLine: @unchecked Sendable {
    static let shared = ProgressLine()

    private let lock = NSLock()
    private var fraction: Double?
    private var drawn = false
    private var stopped = true
    private var started = Date()
    /// One second; VMOWNER_PROGRESS_AFTER (seconds) changes it, for tests.
    private let delay: TimeInterval = ProcessInfo.processInfo.environment["VMOWNER_PROGRESS_AFTER"].flatMap(Double.init) ?? 1
    private let enabled = isatty(STDERR_FILENO) != 0
    private let outputIsTerminal = isatty(STDOUT_FILENO) != 0 && isatty(STDERR_FILENO) != 0

    /// Starts the clock; the line appears after `delay` seconds.
    func start() {
        guard enabled else { return }
        lock.lock()
        stopped = false
        started = Date()
        lock.unlock()
        WalkProgress.report = { [weak self] done in self?.walked(done) }
        let thread = Thread { [weak self] in
            while let self, self.tick() { Thread.sleep(forTimeInterval: 0.2) }
        }
        thread.start()
    }

    private func walked(_ done: Double) {
        lock.lock()
        fraction = done
        lock.unlock()
    }

    /// Draws the line once the delay has passed; false when stopped.
    private func tick() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return false }
        let elapsed = Date().timeIntervalSince(started)
        guard elapsed >= delay else { return true }
        var line = "vmowner: \(String(format: "%.1f", elapsed)) s"
        if let fraction { line += ", pages walked \(Int(fraction * 100))%" }
        fputs("\r\u{1b}[K\(line)", stderr)
        drawn = true
        return true
    }

    /// Erases the line and stops drawing it.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        if drawn { fputs("\r\u{1b}[K", stderr) }
        drawn = false
    }

    /// Erases the line for a warning; it comes back at the next tick.
    func erase() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { fputs("\r\u{1b}[K", stderr) }
        drawn = false
    }

    /// The report is about to be written: on the terminal that shows the line, stop it.
    func reportStarts() {
        if outputIsTerminal { stop() }
    }
}
