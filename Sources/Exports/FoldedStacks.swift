/// Folded stacks, the input of flamegraph.pl, speedscope and inferno: one line per stack,
/// frames root first joined by `;`, a space, the page count. Samples with the same frames
/// are merged into one line; lines keep the order of their first sample.
public enum FoldedStacks {
    public static func text(_ samples: [StackSample]) -> String {
        var order: [String] = []
        var pages: [String: Int64] = [:]
        for s in samples where s.pages > 0 {
            let line = s.rootFirst.map(frameName).joined(separator: ";")
            if pages[line] == nil { order.append(line) }
            pages[line, default: 0] &+= s.pages
        }
        var out = ""
        for line in order { out += "\(line) \(pages[line] ?? 0)\n" }
        return out
    }

    /// A frame as one folded field: `;` separates frames and a newline ends the line, so
    /// neither may appear inside one (kernel symbols never hold them; this is for safety).
    static func frameName(_ frame: String) -> String {
        guard frame.contains(where: { $0 == ";" || $0 == "\n" || $0 == "\r" }) else { return frame }
        return String(frame.map { $0 == ";" ? ":" : ($0 == "\n" || $0 == "\r") ? " " : $0 })
    }
}
