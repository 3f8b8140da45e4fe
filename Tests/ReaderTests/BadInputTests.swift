import DepotWalker
import ELFCore
import Foundation
import Testing

/// Bad input: one line on stderr naming the file and the fault, exit 1, never a trap.
@Suite struct BadInputTests {
    static func sample() throws -> URL { try SimulatedDumps.dump(seed: 1, memory: "64M") }

    /// A scratch copy of a file, to corrupt.
    static func copy(_ path: String, _ name: String) throws -> String {
        let target = SimulatedDumps.root.appendingPathComponent("bad-\(UUID().uuidString)-\(name)").path
        try FileManager.default.copyItem(atPath: path, toPath: target)
        return target
    }

    static func patch(_ path: String, at offset: UInt64, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    /// Where a kernel virtual address of the dump is stored in the vmcore file.
    static func fileOffset(_ dump: KernelDump, virtual va: UInt64) throws -> UInt64 {
        let elf = try #require(dump.physical as? ELFCoreDump)
        let pa = try dump.memory.physicalAddress(of: va)
        let p = try #require(elf.directPointer(physical: pa, count: 8))
        let base = try #require((elf.bytes as? MappedBytes)?.file.pointer(at: 0, count: 1))
        return UInt64(p - base)
    }

    func expectBadInput(_ result: Tools.Result, mentions words: [String]) {
        #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        for w in words { #expect(result.stderr.contains(w), "stderr lacks '\(w)': \(result.stderr)") }
        #expect(result.stdout.isEmpty)
    }

    @Test func missingFile() throws {
        let dir = try Self.sample()
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), "/nonexistent/vmcore")
        expectBadInput(result, mentions: ["/nonexistent/vmcore", "cannot open"])
    }

    @Test func notAnELF() throws {
        let dir = try Self.sample()
        let text = SimulatedDumps.root.appendingPathComponent("notes.txt").path
        try "these are not the bytes you are looking for\n".write(toFile: text, atomically: true, encoding: .utf8)
        expectBadInput(try Tools.vmowner("page-owner", dir.file("vmlinux"), text), mentions: [text, "not a crash dump"])
        expectBadInput(try Tools.vmowner("page-owner", text, dir.file("vmcore")), mentions: [text])
    }

    /// A dump of one architecture with a vmlinux of the other: refused, naming both. The dump
    /// says arm64 (ELF e_machine 183), the vmlinux is x86_64; then an arm64 dump that lacks
    /// the arm64 VMCOREINFO keys is refused by key.
    @Test func architectureMismatch() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmcore"), "arm64-header")
        try Self.patch(path, at: 18, [183, 0])
        expectBadInput(try Tools.vmowner("page-owner", dir.file("vmlinux"), path),
                       mentions: [path, "the dump is of an arm64 machine", "is an x86_64 kernel"])
        let vmlinux = try Self.copy(dir.file("vmlinux"), "arm64-vmlinux")
        try Self.patch(vmlinux, at: 18, [183, 0])
        expectBadInput(try Tools.vmowner("page-owner", vmlinux, path), mentions: [path, "NUMBER(VA_BITS)", "arm64"])
    }

    @Test(arguments: [10, 63, 100, 4096, 1 << 20])
    func truncatedVMCore(cut: Int) throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmcore"), "truncated")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64)
        try #require(UInt64(cut) < size)
        truncate(path, off_t(cut))
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), path)
        expectBadInput(result, mentions: [path])
    }

    @Test func truncatedNearTheEnd() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmcore"), "truncated-end")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64)
        truncate(path, off_t(size / 2))
        expectBadInput(try Tools.vmowner("page-owner", dir.file("vmlinux"), path), mentions: [path, "truncated"])
    }

    @Test func vmlinuxOfAnotherBuild() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmlinux"), "other-build")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let banner = Data("Linux version ".utf8)
        let at = try #require(bytes.range(of: banner))
        // Another build of the same release: change the build text after the release.
        let hash = try #require(bytes[at.upperBound...].firstIndex(of: UInt8(ascii: "(")))
        bytes[hash + 1] = bytes[hash + 1] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
        try bytes.write(to: URL(fileURLWithPath: path))
        expectBadInput(try Tools.vmowner("page-owner", path, dir.file("vmcore")), mentions: [path, "does not belong"])
    }

    @Test func vmlinuxOfAnotherRelease() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmlinux"), "other-release")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let at = try #require(bytes.range(of: Data("Linux version ".utf8)))
        bytes[at.upperBound] = bytes[at.upperBound] == UInt8(ascii: "5") ? UInt8(ascii: "4") : UInt8(ascii: "5")
        try bytes.write(to: URL(fileURLWithPath: path))
        expectBadInput(try Tools.vmowner("page-owner", path, dir.file("vmcore")), mentions: [dir.file("vmcore"), "is Linux 5", "the dump is from Linux"])
    }

    @Test func vmlinuxWithoutDWARF() throws {
        let dir = try Self.sample()
        let path = SimulatedDumps.root.appendingPathComponent("stripped-\(UUID().uuidString)").path
        let strip = Process()
        strip.executableURL = URL(fileURLWithPath: "/usr/bin/objcopy")
        strip.arguments = ["--strip-debug", dir.file("vmlinux"), path]
        try strip.run()
        strip.waitUntilExit()
        try #require(strip.terminationStatus == 0)
        expectBadInput(try Tools.vmowner("page-owner", path, dir.file("vmcore")), mentions: [path, "DWARF"])
    }

    @Test func pageOwnerDisabled() throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "64M", ["--no-page-owner"])
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"))
        expectBadInput(result, mentions: ["page_owner was not enabled on this kernel (boot with page_owner=on)"])
        let info = try Tools.vmowner("info", dir.file("vmlinux"), dir.file("vmcore"))
        #expect(info.status == 0)
        #expect(info.text.contains("not enabled"))
    }

    /// A section whose page_ext points into a memory hole: a partial report and a warning.
    @Test func pageExtIntoAHole() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmcore"), "page-ext-hole")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: path)
        let types = dump.types
        let layout = try types.structType("mem_section", near: "mem_section")
        let roots = try #require(dump.info.symbol("mem_section"))
        let section0 = try dump.memory.u64(roots)
        let at = try Self.fileOffset(dump, virtual: section0 + UInt64(try layout.member("page_ext").offset))
        // 60 GiB into the direct map: far past the RAM of this 64 MiB machine.
        let pageOffsetBase = try dump.memory.u64(try dump.requireAddress(of: "page_offset_base"))
        var bad = (pageOffsetBase + (60 << 30)).littleEndian
        try Self.patch(path, at: at, withUnsafeBytes(of: &bad) { Array($0) })
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("could not be read"), "\(result.stderr)")
        let expected = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        #expect(result.text.count < expected.count)
    }

    /// A record whose handle names a pool that does not exist: the record without its stack.
    @Test func handleOfAMissingPool() throws {
        let dir = try Self.sample()
        let truth = try Truth(dir)
        let block = try #require(truth.blocks.first { $0.allocated && $0.order == 0 })
        let path = try Self.copy(dir.file("vmcore"), "bad-handle")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: path)
        let context = try PageOwnerContext(dump: dump)
        let section = try #require(context.sections.section(of: block.pfn))
        let slot = try #require(section.pageExt) + block.pfn * context.extSize
        let at = try Self.fileOffset(dump, virtual: slot + context.ownerOffset + UInt64(context.owner.handle.offset))
        try Self.patch(path, at: at, [0xff, 0xff, 0x01, 0x00])      // pool index 0x1fffe
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning"), "\(result.stderr)")
        let pfnLine = "PFN 0x" + String(block.pfn, radix: 16) + " "
        #expect(result.text.contains(pfnLine))
        let pfnResult = try Tools.vmowner("pfn", dir.file("vmlinux"), path, String(block.pfn))
        #expect(pfnResult.status == 0)
    }

    /// stack_list pointing back at itself is reported, not followed for ever.
    @Test func cycleInStackList() throws {
        let dir = try Self.sample()
        let path = try Self.copy(dir.file("vmcore"), "cycle")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: path)
        let head = try dump.requireAddress(of: "stack_list")
        let first = try dump.memory.u64(head)
        let node = try dump.types.structType("stack", near: "stack_list")
        let at = try Self.fileOffset(dump, virtual: first + UInt64(try node.member("next").offset))
        var loop = first.littleEndian
        try Self.patch(path, at: at, withUnsafeBytes(of: &loop) { Array($0) })
        expectBadInput(try Tools.vmowner("stacks", dir.file("vmlinux"), path), mentions: [path, "loops"])
    }
}
