/// Two snapshots compared stack by stack: the leak hunter's view. Stacks are matched by their
/// frames as the kernel prints them (`%pS` text does not depend on KASLR or on the depot's
/// handles, so it matches across boots of one kernel build).
public struct StackDiff: Sendable {
    public struct Row: Sendable, Equatable {
        public let frames: [String]
        public let before: Int64
        public let after: Int64
        public var delta: Int64 { after &- before }
        /// Growth relative to before; nil for a new stack.
        public var percent: Double? { before > 0 ? Double(delta) / Double(before) * 100 : nil }
        public var status: Status {
            before == 0 ? .new : after == 0 ? .vanished : delta > 0 ? .grew : delta < 0 ? .shrank : .same
        }
    }

    public enum Status: String, Sendable { case new, vanished, grew, shrank, same }

    /// Sorted by growth, largest first (so the largest shrinkage comes last); ties by frames.
    public let rows: [Row]
    public let totalBefore: Int64
    public let totalAfter: Int64

    public init(before: [StackSample], after: [StackSample]) {
        var pages: [[String]: (before: Int64, after: Int64)] = [:]
        for s in before where s.pages > 0 { pages[s.frames, default: (0, 0)].before &+= s.pages }
        for s in after where s.pages > 0 { pages[s.frames, default: (0, 0)].after &+= s.pages }
        rows = pages.map { Row(frames: $0.key, before: $0.value.before, after: $0.value.after) }
            .sorted { a, b in
                if a.delta != b.delta { return a.delta > b.delta }
                if a.after != b.after { return a.after > b.after }
                return a.frames.lexicographicallyPrecedes(b.frames)
            }
        totalBefore = rows.reduce(0) { $0 &+ $1.before }
        totalAfter = rows.reduce(0) { $0 &+ $1.after }
    }
}
