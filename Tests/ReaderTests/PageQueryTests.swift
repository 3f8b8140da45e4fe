import DepotWalker
import ELFCore
import Foundation
import Testing

/// `vmowner pfn` agrees with the simulator's truth for every pfn of every block it records,
/// in every memory model (each finds struct pages and page_ext slots its own way).
@Suite struct PageQueryTests {
    static let machines: [(seed: Int, memory: String, model: String?)] =
        [(1, "64M", nil), (3, "1G", nil)] + MemoryModelTests.models.map { (31, "768M", $0) }

    @Test(arguments: machines)
    func everyRecordedPFN(seed: Int, memory: String, model: String?) throws {
        let dir = try model.map { try MemoryModelTests.dump($0, seed: seed) } ?? SimulatedDumps.dump(seed: seed, memory: memory)
        let truth = try Truth(dir)
        let context = try PageOwnerContext(dump: KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore")))
        #expect(truth.blocks.contains { $0.allocated })
        #expect(truth.blocks.contains { !$0.allocated })
        var checked = 0
        for block in truth.blocks {
            for pfn in block.pfn..<(block.pfn + (1 << block.order)) {
                guard case .record(let r, _) = PageQuery.lookup(pfn, context: context) else {
                    Issue.record("pfn \(pfn): no record")
                    return
                }
                #expect(r.allocated == block.allocated, "pfn \(pfn)")
                #expect(r.order == block.order && r.gfpMask == block.gfp && r.handle == block.handle, "pfn \(pfn)")
                #expect(r.pid == block.pid && r.tgid == block.tgid && r.comm == block.comm, "pfn \(pfn)")
                #expect(r.tsNsec == block.ts, "pfn \(pfn)")
                if !block.allocated { #expect(r.freeTsNsec == block.freeTs, "pfn \(pfn)") }
                checked += 1
            }
        }
        #expect(checked > 1000)
    }

    /// The stack frames of every handle in the truth symbolize as the simulated kernel printed them.
    @Test func stacksSymbolize() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let truth = try Truth(dir)
        let context = try PageOwnerContext(dump: KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore")))
        let frames = StackReportFrames(context: context)
        #expect(truth.stackFrames.count >= 5)
        for (handle, expected) in truth.stackFrames {
            #expect(frames.frames(handle, context: context) == expected, "handle \(handle)")
        }
        #expect(truth.stackFrames.values.joined().contains { $0.hasSuffix(" [brd]") })
    }

    /// The CLI's JSON for a few pfns says the same as the truth.
    @Test func jsonOutput() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let truth = try Truth(dir)
        let picks = Array(truth.blocks.filter { $0.allocated }.prefix(3)) + Array(truth.blocks.filter { !$0.allocated }.prefix(2))
        let result = try Tools.run("vmowner", ["pfn", dir.file("vmlinux"), dir.file("vmcore"), "--format", "json"] + picks.map { "0x" + String($0.pfn, radix: 16) })
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
        #expect(objects.count == picks.count)
        for (object, block) in zip(objects, picks) {
            #expect((object["pfn"] as? NSNumber)?.uint64Value == block.pfn)
            #expect(object["status"] as? String == (block.allocated ? "allocated" : "freed"))
            #expect(object["comm"] as? String == block.comm)
            #expect((object["stack"] as? [String]) == truth.stackFrames[block.handle])
        }
    }
}
