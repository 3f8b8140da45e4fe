import Foundation

/// The text, JSON and CSV of a stack diff.
public extension StackDiff {
    /// One block per stack that changed (unchanged ones are counted at the end): the counts,
    /// then the frames as show_stacks prints them.
    func text(pageSize: Int64) -> String {
        let changed = rows.filter { $0.delta != 0 }
        let count = { (s: Status) in rows.filter { $0.status == s }.count }
        let total = totalAfter &- totalBefore
        var out = "before: \(totalBefore) pages, after: \(totalAfter) pages, delta: \(Units.signed(total)) pages (\(Units.oneDecimal(Units.mib(total, pageSize: pageSize))) MiB)\n"
        out += "stacks: \(count(.new)) new, \(count(.vanished)) vanished, \(count(.grew)) grew, \(count(.shrank)) shrank, \(count(.same)) unchanged\n"
        for row in changed {
            let percent = row.percent.map { ($0 > 0 ? "+" : "") + Units.oneDecimal($0) + "%" } ?? "new"
            out += "\n\(row.status.rawValue): before \(row.before) after \(row.after) delta \(Units.signed(row.delta)) (\(percent))\n"
            for frame in row.frames { out += " \(frame)\n" }
        }
        return out
    }

    struct Document: Codable {
        struct Stack: Codable {
            let status: String
            let before: Int64
            let after: Int64
            let delta: Int64
            let percent: Double?
            let frames: [String]
        }
        let total_before: Int64
        let total_after: Int64
        let stacks: [Stack]
    }

    /// Every stack, unchanged ones included; `percent` is null for new stacks.
    var document: Document {
        Document(total_before: totalBefore, total_after: totalAfter, stacks: rows.map {
            Document.Stack(status: $0.status.rawValue, before: $0.before, after: $0.after, delta: $0.delta,
                           percent: $0.percent.map { ($0 * 10).rounded() / 10 }, frames: $0.frames)
        })
    }

    /// `status,before,after,delta,percent,frames` with frames joined by `;` (percent empty for new stacks).
    func csv() -> String {
        var out = "status,before,after,delta,percent,frames\n"
        for row in rows {
            let percent = row.percent.map { Units.oneDecimal($0) } ?? ""
            out += "\(row.status.rawValue),\(row.before),\(row.after),\(row.delta),\(percent),\(CSVField.quote(row.frames.joined(separator: ";")))\n"
        }
        return out
    }
}

/// RFC 4180 quoting where a field needs it.
public enum CSVField {
    public static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
