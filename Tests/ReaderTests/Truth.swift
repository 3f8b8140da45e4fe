import Foundation

/// vmsim's ground truth (`expected/truth.json`), as the simulator's own model saw the machine.
struct Truth {
    struct Block {
        let pfn: UInt64
        let order: UInt64
        let gfp: UInt64
        let pid: Int64
        let tgid: Int64
        let comm: String
        let ts: UInt64
        let freeTs: UInt64
        let handle: UInt32
        let allocated: Bool
    }

    let blocks: [Block]
    let stackFrames: [UInt32: [String]]
    /// Pages per stack as the truth counts them.
    let stackPages: [UInt32: Int64]

    init(_ dir: URL) throws {
        let data = try Data(contentsOf: dir.appendingPathComponent("expected/truth.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let blocks = root["blocks"] as? [[String: Any]],
              let stacks = root["stacks"] as? [String: Any] else {
            throw TruthError.malformed
        }
        func u(_ v: Any?) -> UInt64 { (v as? NSNumber)?.uint64Value ?? 0 }
        func i(_ v: Any?) -> Int64 { (v as? NSNumber)?.int64Value ?? 0 }
        self.blocks = blocks.map { b in
            Block(pfn: u(b["pfn"]), order: u(b["order"]), gfp: u(b["gfp"]), pid: i(b["pid"]), tgid: i(b["tgid"]),
                  comm: b["comm"] as? String ?? "", ts: u(b["ts"]), freeTs: u(b["free_ts"]),
                  handle: UInt32(truncatingIfNeeded: u(b["handle"])), allocated: b["allocated"] as? Bool ?? false)
        }
        var frames: [UInt32: [String]] = [:]
        var pages: [UInt32: Int64] = [:]
        for (key, value) in stacks {
            guard let handle = UInt32(key), let entry = value as? [String: Any] else { continue }
            frames[handle] = entry["frames"] as? [String] ?? []
            pages[handle] = i(entry["pages"])
        }
        stackFrames = frames
        stackPages = pages
    }

    enum TruthError: Error { case malformed }
}
