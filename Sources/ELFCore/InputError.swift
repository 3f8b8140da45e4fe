/// A file that cannot be read or understood. The CLI prints `vmowner: FILE: REASON` and exits 1.
public struct InputError: Error, CustomStringConvertible, Equatable {
    /// The path of the file at fault (the vmcore or the vmlinux).
    public let file: String
    /// What is wrong with it, in a kernel engineer's words.
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
