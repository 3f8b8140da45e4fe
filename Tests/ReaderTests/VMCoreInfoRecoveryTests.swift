import ELFCore
import Foundation
import Testing

/// Dumps without a VMCOREINFO note (QEMU without `-device vmcoreinfo`): the real kernels'
/// dumps with their note taken out give every report byte for byte as with it, the note being
/// recovered from the kernel's memory; with the kernel's own copy gone too, the image alone
/// still gives the x86_64 reports.
@Suite struct VMCoreInfoRecoveryTests {
    static let reports: [[String]] = [["page-owner"], ["stacks"], ["summary"], ["fragmentation"], ["allocinfo"], ["pfn", "0x4402"]]

    /// A copy of `file` whose VMCOREINFO cannot be found: the note renamed, and a kdump
    /// sub-header's own copy emptied (QEMU writes kdump files flattened: the sub-header is
    /// then found through the records, each a big-endian offset and size before its data).
    static func withoutNote(_ file: String, _ name: String) throws -> String {
        let copy = SimulatedDumps.root.appendingPathComponent("nonote-\(UUID().uuidString)-\(name)").path
        try FileManager.default.copyItem(atPath: file, toPath: copy)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: copy))
        defer { try? handle.close() }
        let head = try handle.read(upToCount: 4 << 20) ?? Data()
        let at = try #require(head.range(of: Data("VMCOREINFO\0".utf8)))
        try handle.seek(toOffset: UInt64(at.lowerBound))
        try handle.write(contentsOf: Data("XMCOREINFO".utf8))
        func u64(_ offset: Int, bigEndian: Bool) -> UInt64 {
            let v = head.subdata(in: offset..<(offset + 8)).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            return bigEndian ? UInt64(bigEndian: v) : v
        }
        // Logical kdump offset → file offset: the identity, or through the flattened records.
        var fileOffset: (UInt64) -> UInt64? = { $0 }
        var kdumpHeader = 0
        if head.starts(with: Data("makedumpfile".utf8)) {
            var records: [(logical: UInt64, size: UInt64, file: UInt64)] = []
            var cursor = 4096
            while cursor + 16 <= head.count, records.count < 64 {
                let (logical, size) = (u64(cursor, bigEndian: true), u64(cursor + 8, bigEndian: true))
                records.append((logical, size, UInt64(cursor + 16)))
                cursor += 16 + Int(size)
            }
            kdumpHeader = Int(try #require(records.first { $0.logical == 0 }).file)
            fileOffset = { at in records.first { at >= $0.logical && at < $0.logical + $0.size }.map { $0.file + at - $0.logical } }
        }
        if head.subdata(in: kdumpHeader..<(kdumpHeader + 8)) == Data("KDUMP   ".utf8) {
            let blockSize = head.subdata(in: (kdumpHeader + 428)..<(kdumpHeader + 432)).withUnsafeBytes { UInt64($0.loadUnaligned(as: UInt32.self)) }
            let sizeField = try #require(fileOffset(blockSize + 40))      // kdump_sub_header.size_vmcoreinfo
            try handle.seek(toOffset: sizeField)
            try handle.write(contentsOf: Data(count: 8))
        }
        return copy
    }

    @Test(arguments: ["6.12", "6.1"], ["vmcore.elf", "vmcore.kdump-zlib"])
    func reportsWithoutTheNote(version: String, format: String) throws {
        let dir = try RealKernelTests.folder(version)
        let noNote = try Self.withoutNote(dir.file(format), format)
        defer { try? FileManager.default.removeItem(atPath: noNote) }
        let info = try Tools.vmowner("info", dir.file("vmlinux"), noNote)
        #expect(info.status == 0 && info.text.contains("VMCOREINFO:   not in the dump; recovered from its memory"), "\(info.stderr)")
        #expect(info.text.contains("VMCOREINFO read from the kernel's vmcoreinfo_data"), "\(info.text)")
        for report in Self.reports {
            let with = try Tools.run("vmowner", [report[0], dir.file("vmlinux"), dir.file(format)] + report.dropFirst())
            let without = try Tools.run("vmowner", [report[0], dir.file("vmlinux"), noNote] + report.dropFirst())
            // allocinfo on 6.1 fails alike, with or without the note.
            #expect(with.status == without.status, "\(report): \(without.stderr)")
            #expect(with.text == without.text, "\(version) \(format) \(report): \(firstDifference(without.text, with.text) ?? "")")
        }
    }

    /// With vmcoreinfo_size cleared in memory too, the x86_64 image alone (banner, init_mm.pgd)
    /// still gives page_owner and the stacks.
    @Test func imageAloneOnX86() throws {
        let dir = try RealKernelTests.folder("6.12")
        let noNote = try Self.withoutNote(dir.file("vmcore.elf"), "image-alone")
        defer { try? FileManager.default.removeItem(atPath: noNote) }
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore.elf"))
        let sizeAt = try BadInputTests.fileOffset(dump, virtual: try dump.requireAddress(of: "vmcoreinfo_size"))
        try BadInputTests.patch(noNote, at: sizeAt, [0, 0, 0, 0, 0, 0, 0, 0])
        let info = try Tools.vmowner("info", dir.file("vmlinux"), noNote)
        #expect(info.text.contains("VMCOREINFO rebuilt from the image"), "\(info.text)\(info.stderr)")
        for report in [["page-owner"], ["stacks"]] {
            let with = try Tools.vmowner(report[0], dir.file("vmlinux"), dir.file("vmcore.elf"))
            let without = try Tools.vmowner(report[0], dir.file("vmlinux"), noNote)
            #expect(with.text == without.text, "\(report): \(firstDifference(without.text, with.text) ?? "") \(without.stderr)")
        }
    }

    /// A dump of another kernel than the vmlinux: its banner is nowhere, said in one line.
    @Test func bannerNotInTheDump() throws {
        let sample = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let dir = try RealKernelTests.folder("6.12")
        let noNote = try Self.withoutNote(sample.file("vmcore"), "foreign")
        defer { try? FileManager.default.removeItem(atPath: noNote) }
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), noNote)
        #expect(result.status == 1 && result.stderr.contains("no VMCOREINFO note, and it cannot be recovered: the kernel's linux_banner"), "\(result.stderr)")
    }

    /// `vmsim --no-vmcoreinfo`: the note left out, the kernel's own copy in its memory. Every
    /// report equals expected/ on x86_64 and arm64 (with the negative PHYS_OFFSET of most
    /// seeds), ELF and kdump.
    @Test(arguments: [["--format", "elf"], ["--format", "kdump-zlib", "--kernel", "6.1"],
                      ["--arch", "arm64", "--format", "elf"],
                      ["--arch", "arm64", "--granule", "64K", "--va-bits", "52", "--format", "kdump-zlib"]])
    func simulatedWithoutTheNote(options: [String]) throws {
        let dir = try SimulatedDumps.dump(seed: 4, memory: options.contains("64K") ? "1G" : "256M", ["--no-vmcoreinfo"] + options)
        let files = [dir.file("vmlinux"), dir.file("vmcore")]
        let info = try Tools.run("vmowner", ["info"] + files)
        #expect(info.text.contains("VMCOREINFO read from the kernel's vmcoreinfo_data"), "\(options): \(info.text)\(info.stderr)")
        try expectReport(["page-owner"] + files, equals: dir.appendingPathComponent("expected/page_owner.txt"), "\(options) page_owner")
        try expectReport(["stacks", "--with-handles"] + files, equals: dir.appendingPathComponent("expected/show_stacks_handles.txt"), "\(options) stacks")
        try expectReport(["fragmentation"] + files, equals: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"), "\(options) pagetypeinfo")
    }
}
