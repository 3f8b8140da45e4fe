import Foundation

/// Reads back what a live kernel printed, so a snapshot captured from debugfs can be
/// compared with a dump: `page_owner_stacks/show_stacks` (frames, then `nr_base_pages: N`)
/// and `/sys/kernel/debug/page_owner` (a `Page allocated via order N, ...` header per block,
/// a PFN line, frames, memcg lines; 1 << order pages each).
public enum KernelTexts {
    public struct Unrecognised: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public enum Kind: String, Sendable { case showStacks = "show_stacks", pageOwner = "page_owner" }

    /// The kind of text, from its first non-empty line.
    public static func kind(of text: Substring) -> Kind? {
        for line in text.split(separator: "\n", maxSplits: 200, omittingEmptySubsequences: true).prefix(200) {
            if line.hasPrefix("Page allocated via order ") { return .pageOwner }
            if line.hasPrefix("nr_base_pages: ") { return .showStacks }
        }
        return nil
    }

    /// The stacks of either text, with their pages (blocks of one stack are not merged).
    public static func samples(_ text: String) throws -> (kind: Kind, samples: [StackSample]) {
        let body = Substring(text)
        switch kind(of: body) {
        case .showStacks: return (.showStacks, try showStacks(body))
        case .pageOwner: return (.pageOwner, try pageOwner(body))
        case nil: throw Unrecognised(reason: "neither show_stacks (nr_base_pages:) nor page_owner (Page allocated via order) text")
        }
    }

    static func showStacks(_ text: Substring) throws -> [StackSample] {
        var out: [StackSample] = []
        var frames: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix(" ") {
                frames.append(String(line.dropFirst()))
            } else if line.hasPrefix("nr_base_pages: ") {
                guard let pages = Int64(line.dropFirst("nr_base_pages: ".count)) else {
                    throw Unrecognised(reason: "line \(number + 1): bad page count")
                }
                out.append(StackSample(frames: frames, pages: pages))
                frames = []
            } else if line.isEmpty || line.hasPrefix("handle: ") {
                continue
            } else {
                throw Unrecognised(reason: "line \(number + 1): not show_stacks text")
            }
        }
        return out
    }

    static func pageOwner(_ text: Substring) throws -> [StackSample] {
        var out: [StackSample] = []
        var current: StackSample?
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("Page allocated via order ") {
                if let c = current { out.append(c) }
                let header = PageOwnerHeader(line)
                guard let order = header.order, order <= 30 else {
                    throw Unrecognised(reason: "line \(number + 1): bad order in \"Page allocated via order\"")
                }
                current = StackSample(frames: [], pages: Int64(1) << order,
                                      labels: .init(comm: header.comm, pid: header.pid, gfp: header.gfp))
            } else if line.hasPrefix(" ") {
                current?.frames.append(String(line.dropFirst()))
            } else if line.isEmpty {
                if let c = current { out.append(c) }
                current = nil
            } else if line.hasPrefix("Charged "), let memcg = line.range(of: "memcg ") {
                current?.labels.memcg = String(line[memcg.upperBound...])
            }
            // PFN, "Slab cache page", "page last free ..." and migrate lines carry no stack.
        }
        if let c = current { out.append(c) }
        return out
    }

    /// `Page allocated via order 0, mask 0x0(), pid 0, tgid 0 (swapper), ts 226828659 ns`
    struct PageOwnerHeader {
        var order: Int64?
        var gfp: String?
        var pid: Int64?
        var comm: String?

        init(_ line: Substring) {
            let rest = line.dropFirst("Page allocated via order ".count)
            order = rest.split(separator: ",", maxSplits: 1).first.flatMap { Int64($0) }
            if let mask = rest.range(of: ", mask ") {
                let after = rest[mask.upperBound...]
                gfp = after.range(of: ", pid ").map { String(after[..<$0.lowerBound]) }
            }
            if let p = rest.range(of: ", pid ") {
                pid = Int64(rest[p.upperBound...].prefix { $0 != "," && $0 != " " })
            }
            if let open = rest.firstIndex(of: "("), let close = rest.range(of: "), ts ", options: .backwards) {
                // The comm sits in the last "(...)" before ", ts": after the gfp names.
                let inner = rest[..<close.lowerBound]
                if let start = inner.range(of: " (", options: .backwards), start.lowerBound > open {
                    comm = String(inner[start.upperBound...])
                }
            }
        }
    }
}
