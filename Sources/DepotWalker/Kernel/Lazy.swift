import Foundation

/// A value built on first use, once, from any thread: the kernel model's services (stack
/// depot, symbolizer, name tables) cost only the commands that print them, and a failure to
/// build one (a corrupt depot, say) stops only those commands. The outcome, value or error,
/// is kept, so every caller sees the same.
///
/// The lock is shared by all of one model's services: they read the DWARF, whose reader is
/// not thread-safe, and the page walk's threads may ask for two of them at once. Recursive,
/// so a service may be built from another's maker.
final class Lazy<Value>: @unchecked Sendable {
    private let lock: NSRecursiveLock
    private var make: (() throws -> Value)?
    private var outcome: Result<Value, Error>?

    init(lock: NSRecursiveLock, _ make: @escaping () throws -> Value) {
        self.lock = lock
        self.make = make
    }

    func get() throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let outcome { return try outcome.get() }
        let result = Result { try make!() }
        outcome = result
        make = nil
        return try result.get()
    }
}

extension Lazy {
    /// The value of a maker that cannot throw.
    var value: Value {
        // swiftlint:disable:next force_try
        try! get()
    }
}
