import ELFCore
import Foundation

/// Stacks rendered once per handle as the kernel prints them: one ` %pS\n` line per frame.
/// Shared by the walker threads.
final class StackText: @unchecked Sendable {
    private let context: PageOwnerContext
    private let lock = NSLock()
    private var rendered: [UInt32: [UInt8]] = [:]
    private var failed: [UInt32: String] = [:]

    init(context: PageOwnerContext) { self.context = context }

    /// The frame lines of `handle`; empty (as the kernel prints) when it cannot be fetched.
    func lines(_ handle: UInt32) -> [UInt8] {
        lock.lock()
        if let done = rendered[handle] { lock.unlock(); return done }
        lock.unlock()
        var text: [UInt8] = []
        var failure: String?
        do {
            for frame in try context.depot.frames(of: handle) {
                text.append(UInt8(ascii: " "))
                text.append(contentsOf: context.symbolizer.format(frame).utf8)
                text.append(UInt8(ascii: "\n"))
            }
        } catch {
            failure = "\(error)"
        }
        lock.lock()
        rendered[handle] = text
        if let failure { failed[handle] = failure }
        lock.unlock()
        return text
    }

    /// Handles that did not resolve, with why (for the warning count).
    var failures: [UInt32: String] {
        lock.lock(); defer { lock.unlock() }
        return failed
    }
}
