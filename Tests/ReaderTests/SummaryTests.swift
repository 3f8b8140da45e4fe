import Foundation
import Testing

/// The summary's totals and top entries agree with the simulator's truth.
@Suite struct SummaryTests {
    @Test func totalsAndDD() throws {
        let dir = try SimulatedDumps.dump(seed: 2, memory: "256M")
        let truth = try Truth(dir)
        let result = try Tools.vmowner(dir.file("vmlinux"), dir.file("vmcore"), "--format", "json", "--top", "1000")
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let allocated = truth.blocks.filter(\.allocated).reduce(Int64(0)) { $0 + (Int64(1) << $1.order) }
        #expect((doc["pages_allocated"] as? NSNumber)?.int64Value == allocated)
        let stamped = truth.blocks.reduce(Int64(0)) { $0 + (Int64(1) << $1.order) }
        #expect((doc["pages_tracked"] as? NSNumber)?.int64Value == stamped)

        // dd wrote 64 MiB into tmpfs: it shows as a task owning about that much.
        let tasks = try #require(doc["top_tasks"] as? [[String: Any]])
        let ddPages = tasks.filter { $0["comm"] as? String == "dd" }.reduce(Int64(0)) { $0 + (($1["pages"] as? NSNumber)?.int64Value ?? 0) }
        let ddTruth = truth.blocks.filter { $0.allocated && $0.comm == "dd" }.reduce(Int64(0)) { $0 + (Int64(1) << $1.order) }
        #expect(ddPages == ddTruth)
        #expect(ddPages >= 16384)

        // The top stack is the one with most pages in the truth.
        let stacks = try #require(doc["top_stacks"] as? [[String: Any]])
        let first = try #require(stacks.first)
        let pagesByHandle = Dictionary(grouping: truth.blocks.filter(\.allocated), by: \.handle)
            .mapValues { $0.reduce(Int64(0)) { $0 + (Int64(1) << $1.order) } }
        #expect((first["pages"] as? NSNumber)?.int64Value == pagesByHandle.values.max())
    }

    @Test func textSummaryNamesTheKernel() throws {
        let dir = try SimulatedDumps.dump(seed: 2, memory: "256M")
        let result = try Tools.vmowner(dir.file("vmlinux"), dir.file("vmcore"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text.contains("kernel:     Linux 6.12"))
        #expect(result.text.contains("Top allocation stacks by pages:"))
        #expect(result.text.contains(" dd\n"))
    }
}
