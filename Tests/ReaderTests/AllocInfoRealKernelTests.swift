import Foundation
import Testing

/// `vmowner allocinfo` on the real 6.12 dumps (x86_64 and arm64) against the /proc/allocinfo the kernel printed
/// just before the dump, and on 6.1 (no allocation profiling) for its refusal.
@Suite struct AllocInfoRealKernelTests {
    /// One /proc/allocinfo line: counters and the tag text after them.
    struct Line: Equatable {
        let bytes: Int64
        let calls: UInt64
        let tag: Substring

        init?(_ line: Substring) {
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard words.count == 3, let bytes = Int64(words[0]), let calls = UInt64(words[1]) else { return nil }
            self.bytes = bytes
            self.calls = calls
            tag = words[2]
        }
    }

    static func lines(_ text: String) -> [Line] {
        text.split(separator: "\n").dropFirst(2).compactMap(Line.init)
    }

    @Test(arguments: ["6.12", "6.12-arm64"])
    func sameTagsInTheSameOrderAsTheKernel(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        let started = Date()
        let result = try Tools.vmowner("allocinfo", dir.file("vmlinux"), dir.file("vmcore.elf"))
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        let kernelText = try String(contentsOfFile: dir.file("captured/allocinfo.txt"), encoding: .utf8)

        // The header and every line's shape are the kernel's, byte for byte.
        #expect(result.text.hasPrefix("allocinfo - version: 1.0\n#     <size>  <calls> <tag info>\n"))
        let ourRaw = result.text.split(separator: "\n", omittingEmptySubsequences: false)
        let kernelRaw = kernelText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ourRaw.count == kernelRaw.count)

        let ours = Self.lines(result.text), kernel = Self.lines(kernelText)
        #expect(kernel.count > 700)                     // 1,125 tags on x86_64, 927 on arm64 (with BPF)
        #expect(ours.count == kernel.count)
        #expect(ourRaw.count == ours.count + 3)          // header (2) + the empty piece after the last "\n"
        for line in ourRaw.dropFirst(2).dropLast() {
            #expect(line.hasSuffix(" ") && line.count > 22, "\(line)")
        }

        // The tag list (file:line [module] func) is exactly the kernel's, in its order; what may
        // differ is counters that moved between the capture and the dump.
        var identity = 0, sameCounters = 0, bytesMoved: Int64 = 0, total: Int64 = 0
        for (a, b) in zip(ours, kernel) {
            if a.tag == b.tag { identity += 1 }
            if a == b { sameCounters += 1 }
            bytesMoved += abs(a.bytes - b.bytes)
            total += b.bytes
        }
        let changed = kernel.count - sameCounters
        print("real \(version) allocinfo: \(kernel.count) tags, \(identity) same tag in the same place, \(sameCounters) same counters, \(changed) counters changed (\(String(format: "%.1f", 100 * Double(changed) / Double(kernel.count)))% of lines); \(bytesMoved) of \(total) bytes moved (\(String(format: "%.2f", 100 * Double(bytesMoved) / Double(total)))%); \(String(format: "%.2f", seconds)) s")
        #expect(identity == kernel.count)
        // The guest reads /proc/allocinfo last, with shell builtins, and idles without forking
        // (samples/real-kernel/guest-init.sh); what still moves is the read itself (seq_file,
        // proc open) and a few frees: counted, below 1% of the lines.
        #expect(Double(changed) <= 0.01 * Double(kernel.count), "\(changed) counters changed")
        #expect(Double(bytesMoved) <= 0.01 * Double(total), "\(bytesMoved) bytes moved")
        // Counters that the capture cannot touch agree exactly: the workload's big owners.
        for tag in ["mm/shmem.c:1812 func:shmem_alloc_folio ", "drivers/block/brd.c:67 [brd] func:brd_insert_page ", "mm/page_ext.c:271 func:alloc_page_ext "] {
            let a = ours.first { $0.tag == tag }, b = kernel.first { $0.tag == tag }
            #expect(a != nil && a == b, "\(tag): \(String(describing: a)) vs \(String(describing: b))")
        }
        // brd wrote 8 MiB through its module's tag: module tags are read and summed per CPU.
        #expect(ours.contains { $0.tag == "drivers/block/brd.c:67 [brd] func:brd_insert_page " && $0.bytes == 8 << 20 && $0.calls == 2048 })
    }

    @Test func sortTopAndFormats() throws {
        let dir = try RealKernelTests.folder("6.12")
        let vmlinux = dir.file("vmlinux"), vmcore = dir.file("vmcore.elf")
        let all = Self.lines(try Tools.vmowner("allocinfo", vmlinux, vmcore).text)
        let expected = all.enumerated().sorted { $0.element.bytes != $1.element.bytes ? $0.element.bytes > $1.element.bytes : $0.offset < $1.offset }.prefix(5).map(\.element)

        let top = try Tools.vmowner("allocinfo", vmlinux, vmcore, "--top", "5")
        #expect(top.status == 0)
        #expect(Self.lines(top.text) == Array(expected))
        #expect(expected.first?.tag == "mm/shmem.c:1812 func:shmem_alloc_folio ")   // dd's 64 MiB in tmpfs

        let byCalls = Self.lines(try Tools.vmowner("allocinfo", vmlinux, vmcore, "--sort", "calls").text)
        #expect(byCalls.count == all.count)
        #expect(zip(byCalls, byCalls.dropFirst()).allSatisfy { $0.calls >= $1.calls })

        let human = try Tools.vmowner("allocinfo", vmlinux, vmcore, "--top", "3", "--human")
        let humanLines = human.text.split(separator: "\n")
        #expect(humanLines.count == 5)
        // The size is human (dd's 64 MiB and the boot's own shmem pages); the calls are the plain
        // report's, which vary by a page or two from boot to boot.
        let shmem = try #require(all.first { $0.tag == "mm/shmem.c:1812 func:shmem_alloc_folio " })
        let calls = String(shmem.calls)
        #expect(humanLines[2] == "         67M " + String(repeating: " ", count: max(0, 8 - calls.count)) + calls + " mm/shmem.c:1812 func:shmem_alloc_folio ")

        let json = try Tools.vmowner("allocinfo", vmlinux, vmcore, "--format", "json", "--top", "3")
        let doc = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        #expect(doc["tag_count"] as? Int == all.count)
        #expect(doc["profiling_enabled"] as? Bool == true)
        #expect(doc["total_bytes"] as? Int64 == all.reduce(0) { $0 + $1.bytes })
        let rows = try #require(doc["tags"] as? [[String: Any]])
        #expect(rows.count == 3)
        #expect(rows.contains { $0["module"] as? String == "brd" && $0["function"] as? String == "brd_insert_page" && $0["line"] as? Int == 67 })
        #expect(rows.contains { $0["module"] is NSNull && $0["file"] as? String == "mm/shmem.c" })

        let csv = try Tools.vmowner("allocinfo", vmlinux, vmcore, "--format", "csv")
        let csvLines = csv.text.split(separator: "\n")
        #expect(csvLines.first == "bytes,calls,file,line,module,function")
        #expect(csvLines.count == all.count + 1)
        #expect(csvLines.contains("8388608,2048,drivers/block/brd.c,67,brd,brd_insert_page"))
    }

    /// 6.1 has no allocation profiling: one clear line and exit 1, nothing on stdout.
    @Test func kernelWithoutProfilingSaysSo() throws {
        let dir = try RealKernelTests.folder("6.1")
        let result = try Tools.vmowner("allocinfo", dir.file("vmlinux"), dir.file("vmcore.elf"))
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("without memory allocation profiling (CONFIG_MEM_ALLOC_PROFILING"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
