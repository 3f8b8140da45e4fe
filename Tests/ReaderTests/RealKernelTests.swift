import DepotWalker
import ELFCore
import Foundation
import Testing

/// vmowner on dumps of real Linux kernels booted under QEMU (samples/real-kernel/make-dump.sh,
/// which `make test` runs first), against what those kernels printed about themselves just
/// before the dump. The only differences allowed are pages allocated or freed between the
/// capture and the dump, at most 1% of the records.
@Suite struct RealKernelTests {
    /// 6.12-novmemmap: 6.12 built without SPARSEMEM_VMEMMAP (struct pages per section).
    /// 6.12-arm64: 6.12 for arm64 (4 KiB pages, 48-bit VA), on qemu-system-aarch64 -M virt.
    static let versions = ["6.12", "6.1", "6.12-novmemmap", "6.12-arm64"]
    static let allowedDifference = 0.01

    static func folder(_ version: String) throws -> URL {
        let root = ProcessInfo.processInfo.environment["VMOWNER_CACHE"] ?? "/var/cache/vmowner"
        let dir = URL(fileURLWithPath: root).appendingPathComponent("real-kernel/\(version)")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("DONE").path) else {
            throw Missing(message: "no real \(version) kernel dump at \(dir.path): run samples/real-kernel/make-dump.sh \(version) (make test does; it installs QEMU and what else it needs with apt-get)")
        }
        return dir
    }

    struct Missing: Error, CustomStringConvertible { let message: String; var description: String { message } }

    static func isArm64(_ version: String) -> Bool { version.hasSuffix("-arm64") }

    @Test(arguments: versions)
    func pageOwnerMatchesTheKernel(version: String) throws {
        let dir = try Self.folder(version)
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore.elf"))
        #expect(result.status == 0, "\(result.stderr)")
        let ours = PageOwnerRecords(result.text)
        let kernel = PageOwnerRecords(try String(contentsOfFile: dir.file("captured/page_owner.txt"), encoding: .utf8))
        #expect(kernel.records.count > 10_000)
        let comparison = ours.compare(with: kernel)
        print("real \(version) page_owner: \(comparison)")
        #expect(Double(comparison.differing) <= Self.allowedDifference * Double(kernel.records.count), "\(comparison)\n\(comparison.examples.joined(separator: "\n----\n"))")
        // What the workload put there shows up: module frames and memcg lines.
        #expect(result.text.contains(" [brd]\n"))
        #expect(result.text.contains("Charged to memcg "))
    }

    @Test(arguments: versions)
    func showStacksMatchesTheKernel(version: String) throws {
        let dir = try Self.folder(version)
        let captured = dir.appendingPathComponent("captured/show_stacks.txt")
        guard FileManager.default.fileExists(atPath: captured.path) else { return }    // before 6.9
        let result = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore.elf"), "--threshold", "0")
        #expect(result.status == 0, "\(result.stderr)")
        let comparison = StackRecords(result.text).compare(with: StackRecords(try String(contentsOf: captured, encoding: .utf8)))
        print("real \(version) show_stacks: \(comparison)")
        // Every allocation or free between the capture and the dump moves a count; what may
        // differ is those pages, at most 1% of the pages the stacks hold.
        #expect(comparison.total > 50)
        #expect(Double(comparison.pagesMoved) <= Self.allowedDifference * Double(comparison.pages), "\(comparison)")

        let threshold = try String(contentsOfFile: dir.file("captured/count_threshold"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let filtered = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore.elf"), "--threshold", threshold)
        let kernelFiltered = StackRecords(try String(contentsOfFile: dir.file("captured/show_stacks_threshold.txt"), encoding: .utf8))
        let c2 = StackRecords(filtered.text).compare(with: kernelFiltered)
        #expect(c2.total > 0)
        #expect(c2.onlyOurs + c2.onlyKernel == 0, "\(c2)")
        #expect(Double(c2.pagesMoved) <= Self.allowedDifference * Double(c2.pages), "\(c2)")
    }

    /// Without VMEMMAP the kernel keeps each page's section number in page->flags and %pGp
    /// prints it; the page_owner comparison above already holds every such line to the
    /// kernel's. Here: the field is really there, and info tells the two builds apart.
    @Test func sectionFieldWithoutVmemmap() throws {
        let plain = try Self.folder("6.12"), noVmemmap = try Self.folder("6.12-novmemmap")
        let captured = try String(contentsOfFile: noVmemmap.file("captured/page_owner.txt"), encoding: .utf8)
        // tinyconfig has no NUMA, so no node field; the pages of a later section say so.
        #expect(captured.range(of: "[(|]section=[1-9][0-9]*\\|zone=[0-9]\\)", options: .regularExpression) != nil,
                "the kernel printed no section field beyond section 0")
        #expect(!(try String(contentsOfFile: plain.file("captured/page_owner.txt"), encoding: .utf8)).contains("section="))
        for (dir, model) in [(plain, "SPARSEMEM_EXTREME + SPARSEMEM_VMEMMAP\n"), (noVmemmap, "SPARSEMEM_EXTREME\n")] {
            let info = try Tools.vmowner("info", dir.file("vmlinux"), dir.file("vmcore.elf"))
            #expect(info.status == 0, "\(info.stderr)")
            #expect(info.text.contains("memory model: " + model), "\(info.text)")
        }
    }

    /// arm64: info's translation constants are the ones the kernel wrote in its VMCOREINFO
    /// note (saved as vmcoreinfo.txt by make-dump.sh), read from both of QEMU's dumps.
    @Test func arm64InfoIsTheKernelsLayout() throws {
        let dir = try Self.folder("6.12-arm64")
        let note = try String(contentsOfFile: dir.file("vmcoreinfo.txt"), encoding: .utf8).split(separator: "\n")
        func value(_ key: String) throws -> Substring {
            try #require(note.first { $0.hasPrefix(key + "=") }?.dropFirst(key.count + 1), "\(key) is not in VMCOREINFO")
        }
        #expect(try value("PAGESIZE") == "4096" && value("NUMBER(VA_BITS)") == "48")
        for dump in ["vmcore.elf", "vmcore.kdump-zlib"] {
            let info = try Tools.vmowner("info", dir.file("vmlinux"), dir.file(dump))
            #expect(info.status == 0, "\(dump): \(info.stderr)")
            for line in ["arch:         arm64, 4 KiB pages", "granule: 4K", "VA bits: 48 (tables walk 48, 4 levels)",
                         "PHYS_OFFSET: \(try value("NUMBER(PHYS_OFFSET)"))", "kimage_voffset: \(try value("NUMBER(kimage_voffset)"))",
                         "PAGE_OFFSET: 0xffff000000000000", "KASLR offset: 0x\(try value("KERNELOFFSET"))",
                         "release:      \(try value("OSRELEASE"))"] {
                #expect(info.text.contains(line + "\n"), "\(dump): no '\(line)' in\n\(info.text)")
            }
        }
    }

    /// dd wrote 64 MiB into tmpfs: about 64 MiB owned by dd in the summary and one stack.
    @Test(arguments: versions)
    func ddOwnsItsPages(version: String) throws {
        let dir = try Self.folder(version)
        let result = try Tools.vmowner(dir.file("vmlinux"), dir.file("vmcore.elf"), "--format", "json")
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let tasks = try #require(doc["top_tasks"] as? [[String: Any]])
        let dd = tasks.filter { $0["comm"] as? String == "dd" }.reduce(0.0) { $0 + (($1["mib"] as? NSNumber)?.doubleValue ?? 0) }
        #expect(dd >= 63 && dd <= 70, "dd owns \(dd) MiB")
        let stacks = try #require(doc["top_stacks"] as? [[String: Any]])
        #expect(stacks.contains { (($0["mib"] as? NSNumber)?.doubleValue ?? 0) >= 63 }, "no stack holds 64 MiB")
    }
}

/// page_owner text split into records keyed by pfn.
struct PageOwnerRecords {
    var records: [UInt64: Substring] = [:]

    init(_ text: String) {
        for record in text.split(separator: "\n\n") {
            let lines = record.split(separator: "\n", maxSplits: 2)
            guard lines.count >= 2, lines[1].hasPrefix("PFN ") else { continue }
            let word = lines[1].dropFirst(4).prefix { $0 != " " }
            let pfn = word.hasPrefix("0x") ? UInt64(word.dropFirst(2), radix: 16) : UInt64(word)
            if let pfn { records[pfn] = record }
        }
    }

    struct Comparison: CustomStringConvertible {
        var same = 0, changed = 0, onlyOurs = 0, onlyKernel = 0
        var examples: [String] = []
        var differing: Int { changed + onlyOurs + onlyKernel }
        var description: String { "\(same) same, \(changed) changed, \(onlyOurs) only in the dump, \(onlyKernel) only in the capture" }
    }

    func compare(with kernel: PageOwnerRecords) -> Comparison {
        var c = Comparison()
        for (pfn, record) in records {
            guard let theirs = kernel.records[pfn] else { c.onlyOurs += 1; continue }
            if theirs == record { c.same += 1 } else {
                c.changed += 1
                if c.examples.count < 3 { c.examples.append("vmowner:\n\(record)\nkernel:\n\(theirs)") }
            }
        }
        c.onlyKernel = kernel.records.keys.filter { records[$0] == nil }.count
        return c
    }
}

/// show_stacks text: stack → its nr_base_pages.
struct StackRecords {
    var counts: [Substring: Int64] = [:]

    init(_ text: String) {
        for record in text.split(separator: "\n\n") {
            guard let cut = record.lastIndex(of: "\n"),
                  let pages = Int64(record[record.index(after: cut)...].drop { !$0.isNumber }) else { continue }
            counts[record[..<cut]] = pages
        }
    }

    struct Comparison: CustomStringConvertible {
        var total = 0, same = 0, countChanged = 0, onlyOurs = 0, onlyKernel = 0
        /// Pages the kernel's stacks hold, and how many moved between capture and dump.
        var pages: Int64 = 0, pagesMoved: Int64 = 0
        var description: String { "\(same) of \(total) stacks same, \(countChanged) with other counts, \(onlyOurs) only in the dump, \(onlyKernel) only in the capture; \(pagesMoved) of \(pages) pages moved" }
    }

    func compare(with kernel: StackRecords) -> Comparison {
        var c = Comparison()
        c.total = kernel.counts.count
        c.pages = kernel.counts.values.reduce(0, +)
        for (stack, count) in counts {
            guard let theirs = kernel.counts[stack] else { c.onlyOurs += 1; c.pagesMoved += count; continue }
            if theirs == count { c.same += 1 } else { c.countChanged += 1; c.pagesMoved += abs(theirs - count) }
        }
        for (stack, count) in kernel.counts where counts[stack] == nil {
            c.onlyKernel += 1
            c.pagesMoved += count
        }
        return c
    }
}

/// The depot's hash table holds every stack the pages name, and every handle in it decodes
/// back to its own record.
@Suite struct RealKernelDepotTests {
    @Test(arguments: RealKernelTests.versions)
    func everyStackIsInTheTable(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        let context = try PageOwnerContext(dump: KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore.elf")))
        let table = try DepotTable.enumerate(dump: context.dump, depot: context.depot)
        let handles = Set(table.map(\.handle))
        #expect(table.count > 100)
        #expect(handles.count == table.count)
        let used = PageCensus(context: context).pagesByHandle.keys.filter { $0 != 0 }
        #expect(!used.isEmpty)
        for handle in used { #expect(handles.contains(handle), "handle \(handle) of a page is not in stack_table") }
        for entry in table { #expect(throws: Never.self) { _ = try context.depot.frames(of: entry.handle) } }
    }
}
