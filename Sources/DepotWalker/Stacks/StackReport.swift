import ELFCore

/// The text of `page_owner_stacks/show_stacks`, `show_handles` and `show_stacks_handles`.
public struct StackReport {
    public struct Parts: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let stack = Parts(rawValue: 1)
        public static let handle = Parts(rawValue: 2)
        public static let pages = Parts(rawValue: 4)

        public static let showStacks: Parts = [.stack, .pages]
        public static let showHandles: Parts = [.handle, .pages]
        public static let showStacksHandles: Parts = [.stack, .handle]
    }

    let symbolizer: Symbolizer

    public init(symbolizer: Symbolizer) { self.symbolizer = symbolizer }

    /// Stacks with fewer pages than 1 or than `threshold` are left out when pages are shown.
    public func text(_ stacks: [StackCount], parts: Parts, threshold: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        for s in stacks {
            if parts.contains(.pages), s.pages < 1 || UInt64(s.pages) < threshold { continue }
            if parts.contains(.stack) {
                for frame in s.frames ?? [] {
                    out.append(UInt8(ascii: " "))
                    out.append(contentsOf: symbolizer.format(frame).utf8)
                    out.append(UInt8(ascii: "\n"))
                }
            }
            if parts.contains(.handle) {
                out.append("handle: ")
                out.appendDecimal(Int64(Int32(bitPattern: s.handle)))
                out.append(UInt8(ascii: "\n"))
            }
            if parts.contains(.pages) {
                out.append("nr_base_pages: ")
                out.appendDecimal(Int64(Int32(truncatingIfNeeded: s.pages)))
                out.append(UInt8(ascii: "\n"))
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }
}
