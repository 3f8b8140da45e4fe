import DepotWalker
import ELFCore
import Foundation
import Testing

/// Every page_owner generation vmsim simulates, 5.4 to 6.19 and the swap RFC: every report
/// equals what that kernel would have printed, for two seeds each.
@Suite struct KernelProfileTests {
    static let profiles = ["5.4", "5.10", "5.15", "6.1", "6.6", "6.8", "6.12", "6.19", "6.19-swap"]
    static let cases: [(String, Int)] = profiles.flatMap { [($0, 11), ($0, 12)] }

    static func dump(_ kernel: String, _ seed: Int) throws -> URL {
        try SimulatedDumps.dump(seed: seed, memory: "128M", ["--kernel", kernel])
    }

    @Test(arguments: cases)
    func everyReport(kernel: String, seed: Int) throws {
        let dir = try Self.dump(kernel, seed)
        let files = [dir.file("vmlinux"), dir.file("vmcore")]
        let expected = dir.appendingPathComponent("expected")
        try expectReport(["page-owner"] + files, equals: expected.appendingPathComponent("page_owner.txt"), "\(kernel) page_owner")
        if FileManager.default.fileExists(atPath: expected.appendingPathComponent("show_stacks.txt").path) {
            try expectReport(["stacks"] + files, equals: expected.appendingPathComponent("show_stacks.txt"), "\(kernel) show_stacks")
        }
        try expectReport(["stacks", "--handles"] + files, equals: expected.appendingPathComponent("show_handles.txt"), "\(kernel) show_handles")
        try expectReport(["stacks", "--with-handles"] + files, equals: expected.appendingPathComponent("show_stacks_handles.txt"), "\(kernel) show_stacks_handles")
        try expectReport(["fragmentation"] + files, equals: expected.appendingPathComponent("pagetypeinfo_pageblocks.txt"), "\(kernel) pagetypeinfo")
        let allocinfo = expected.appendingPathComponent("allocinfo.txt")
        #expect(FileManager.default.fileExists(atPath: allocinfo.path) == ["6.12", "6.19", "6.19-swap"].contains(kernel))
        if FileManager.default.fileExists(atPath: allocinfo.path) {
            try expectReport(["allocinfo"] + files, equals: allocinfo, "\(kernel) allocinfo")
        }
        if kernel.hasSuffix("-swap") {
            try expectReport(["swap"] + files, equals: expected.appendingPathComponent("swap_page_owner.txt"), "swap_page_owner")
            try expectReport(["stacks", "--swap"] + files, equals: expected.appendingPathComponent("show_stacks_swap.txt"), "show_stacks --swap")
            let text = try String(contentsOf: expected.appendingPathComponent("page_owner.txt"), encoding: .utf8)
            #expect(text.contains(" (swapped)\n"))
        }
    }

    /// Where the kernel keeps its own counts (6.9+), counting the pages gives the same numbers.
    @Test(arguments: ["6.12", "6.19"])
    func kernelCountsEqualPageCounts(kernel: String) throws {
        let dir = try Self.dump(kernel, 11)
        func counts(_ extra: [String]) throws -> [String: String] {
            let result = try Tools.run("vmowner", ["stacks", dir.file("vmlinux"), dir.file("vmcore"), "--threshold", "0"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            var out: [String: String] = [:]
            for record in result.text.components(separatedBy: "\n\n") where !record.isEmpty {
                guard let cut = record.range(of: "\n", options: .backwards) else { continue }
                out[String(record[..<cut.lowerBound])] = String(record[cut.upperBound...])
            }
            return out
        }
        let kernelCounts = try counts([])
        #expect(kernelCounts.count > 10)
        #expect(kernelCounts == (try counts(["--from-pages"])))
    }

    /// A dump read with another generation's vmlinux is refused, naming both releases.
    @Test func otherGenerationsVMLinux() throws {
        let a = try Self.dump("6.1", 11), b = try Self.dump("6.12", 11)
        let result = try Tools.vmowner("page-owner", b.file("vmlinux"), a.file("vmcore"))
        #expect(result.status == 1)
        #expect(result.stderr.contains("the dump is from Linux 6.1.0-vmsim"), "\(result.stderr)")
        #expect(result.stderr.contains("is Linux 6.12.0-vmsim"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// A kernel without the swap patches says so.
    @Test func swapOnAKernelWithoutIt() throws {
        let dir = try Self.dump("6.19", 11)
        let result = try Tools.vmowner("swap", dir.file("vmlinux"), dir.file("vmcore"))
        #expect(result.status == 1)
        #expect(result.stderr.contains("keeps no owners of swapped-out pages"))
    }
}

/// 6.8.3–6.9-rc2 kept the name `pool_index` but stored index + 1 in it. A reader cannot tell
/// from the DWARF; it must check the record's own stored handle. Here a 6.8 dump is rewritten
/// so one stack's handle uses the plus-one meaning, in the page that names it and in the
/// record itself, and the page must still resolve to its stack.
@Suite struct AmbiguousHandleTests {
    @Test func plusOneUnderTheOldName() throws {
        let dir = try KernelProfileTests.dump("6.8", 11)
        let truth = try Truth(dir)
        // A stack named by exactly one allocated order-0 block, in a pool other than the last.
        let users = Dictionary(grouping: truth.blocks, by: \.handle)
        let block = try #require(truth.blocks.first { b in
            b.allocated && b.order == 0 && users[b.handle]?.count == 1 && b.handle & 0x1ffff >= 1
        })
        let path = try BadInputTests.copy(dir.file("vmcore"), "plus-one")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: path)
        let context = try PageOwnerContext(dump: dump)
        let types = dump.types
        let parts = try types.unionType("handle_parts", near: "stack_table")
        let index = try parts.member("pool_index"), offset = try parts.member("offset")
        let indexShift = UInt32(index.bitOffset ?? 0), offsetShift = UInt32(offset.bitOffset ?? 0)
        let indexMask = (UInt32(1) << UInt32(try #require(index.bitSize))) - 1
        let offsetMask = (UInt32(1) << UInt32(try #require(offset.bitSize))) - 1
        let pool = (block.handle >> indexShift) & indexMask
        let recordOffset = UInt64((block.handle >> offsetShift) & offsetMask) << 4
        let plusOne = (block.handle & ~(indexMask << indexShift)) | ((pool + 1) << indexShift)

        // The record: pools[pool] + offset; its stored handle gets the plus-one value.
        let pools = try dump.requireAddress(of: "stack_pools")
        let record = try dump.memory.u64(pools + UInt64(pool) * 8) + recordOffset
        let handleField = try types.structType("stack_record", near: "stack_table").member("handle").offset
        var value = plusOne.littleEndian
        try BadInputTests.patch(path, at: try BadInputTests.fileOffset(dump, virtual: record + UInt64(handleField)), withUnsafeBytes(of: &value) { Array($0) })
        // The page's page_owner record names the stack the same way.
        let slot = try #require(context.sections.section(of: block.pfn)?.pageExt) + block.pfn * context.extSize
        try BadInputTests.patch(path, at: try BadInputTests.fileOffset(dump, virtual: slot + context.ownerOffset + UInt64(context.owner.handle.offset)), withUnsafeBytes(of: &value) { Array($0) })

        let result = try Tools.run("vmowner", ["pfn", dir.file("vmlinux"), path, String(block.pfn), "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]]
        let object = try #require(objects?.first)
        #expect((object["handle"] as? NSNumber)?.uint32Value == plusOne)
        let frames = try #require(truth.stackFrames[block.handle])
        #expect(!frames.isEmpty)
        #expect(object["stack"] as? [String] == frames)
    }
}
