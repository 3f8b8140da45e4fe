import Foundation

/// A value built on first use, once, from any thread: the kernel model's services (stack
/// depot, symbolizer, name tables) cost only the commands that print them, and a failure to
/// build one (a corrupt depot, say) stops only those commands. The outcome, value or error,
/// is kept, so every caller sees the same.
final class Lazy<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var make: (() throws -> Value)?
    private var outcome: Result<Value, Error>?

    init(_ make: @escaping () throws -> Value) { self.make = make }

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
