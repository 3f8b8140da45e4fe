import Foundation
import Testing
@testable import ELFCore

/// VMLinux: opening (and refusing) files, the symbol table, initialized data.
@Suite struct VMLinuxTests {
    @Test func symbolsMatchTheProgramsOwnAddresses() throws {
        let build = try DWARFFixture.build(dwarf: 5)
        let symbols = try VMLinux(path: build.binary).symbols
        #expect(build.addresses.count == 5)
        for (name, address) in build.addresses {
            #expect(symbols.address(of: name) == address, "\(name)")
        }
        let main = try #require(symbols.symbol(named: "main"))
        #expect(main.isFunction && main.isGlobal && !main.isData && main.size > 0)
        let ops = try #require(symbols.symbol(named: "page_owner_ops"))
        #expect(ops.isData && ops.isGlobal && ops.size == 32)
        let pools = try #require(symbols.symbol(named: "stack_pools"))
        #expect(pools.isData && !pools.isGlobal)
        #expect(symbols.symbol(named: "no_such_symbol") == nil)

        let (inside, offset) = try #require(symbols.containing(main.value + 3))
        #expect(inside.name == "main" && offset == 3)
        #expect(symbols.containing(0) == nil)
        let sorted = symbols.sortedByAddress
        #expect(!sorted.isEmpty && zip(sorted, sorted.dropFirst()).allSatisfy { $0.value <= $1.value })
        // Among symbols at one address: functions, then globals, then sized ones first.
        func rank(_ s: ELFSymbol) -> Int { (s.isFunction ? 0 : 4) + (s.isGlobal ? 0 : 2) + (s.size > 0 ? 0 : 1) }
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.value < $1.value || rank($0) <= rank($1) })
        #expect(Set(sorted.map(\.value)).count >= 5)
        #expect(!sorted.contains { $0.name.isEmpty })
    }

    @Test func initializedDataAtLinkAddresses() throws {
        let build = try DWARFFixture.build(dwarf: 4)
        let vmlinux = try VMLinux(path: build.binary)
        let banner = try #require(build.addresses["linux_banner"])
        #expect(try vmlinux.cString(atLinkAddress: banner) == "Linux version 6.12.0-fixture (gcc) #1 SMP PREEMPT_DYNAMIC\n")
        #expect(try vmlinux.cString(atLinkAddress: banner, max: 5) == "Linux")
        #expect(try vmlinux.bytes(atLinkAddress: banner + 6, count: 7) == Array("version".utf8))
        // page_owner_ops = { .size = sizeof(struct page_owner) } = 64, little endian at +8.
        let ops = try #require(build.addresses["page_owner_ops"])
        #expect(try vmlinux.bytes(atLinkAddress: ops + 8, count: 8) == [64, 0, 0, 0, 0, 0, 0, 0])

        let bss = try #require(build.addresses["zeroed_counter"])
        let noContents = try #require(throws: InputError.self) { try vmlinux.bytes(atLinkAddress: bss, count: 8) }
        #expect(noContents.reason.contains(".bss"))
        #expect(throws: InputError.self) { try vmlinux.bytes(atLinkAddress: 0x10, count: 1) }
        #expect(throws: InputError.self) { try vmlinux.bytes(atLinkAddress: banner, count: 1 << 30) }
        #expect(throws: InputError.self) { try vmlinux.bytes(atLinkAddress: banner, count: -1) }
    }

    @Test func missingFile() throws {
        let path = DWARFFixture.scratch + "/does-not-exist"
        let error = try #require(throws: InputError.self) { try VMLinux(path: path) }
        #expect(error.file == path && error.reason.contains("No such file"))
    }

    @Test func notAnELFFile() throws {
        let path = DWARFFixture.scratch + "/not-elf.txt"
        try Data("this is a text file, not a kernel\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: InputError.self) { try VMLinux(path: path) }
        #expect(error.reason.contains("not an ELF file"))
        let directory = try #require(throws: InputError.self) { try VMLinux(path: DWARFFixture.scratch) }
        #expect(directory.reason.contains("not a regular file"))
    }

    @Test func elfWithoutDWARF() throws {
        let build = try DWARFFixture.build(dwarf: nil)
        let error = try #require(throws: InputError.self) { try VMLinux(path: build.binary) }
        #expect(error.file == build.binary && error.reason.contains("no DWARF debug info"))
    }

    /// x86_64 and arm64 kernels are read; a vmlinux for another machine is refused by name.
    @Test func architectureFromTheHeader() throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: DWARFFixture.build(dwarf: 5).binary)))
        #expect(try VMLinux(path: DWARFFixture.build(dwarf: 5).binary).architecture == .x86_64)
        bytes[18] = 183  // e_machine = EM_AARCH64
        bytes[19] = 0
        let arm64 = DWARFFixture.scratch + "/aarch64-header"
        try Data(bytes).write(to: URL(fileURLWithPath: arm64))
        #expect(try VMLinux(path: arm64).architecture == .arm64)
        bytes[18] = 243  // e_machine = EM_RISCV
        let riscv = DWARFFixture.scratch + "/riscv-header"
        try Data(bytes).write(to: URL(fileURLWithPath: riscv))
        let error = try #require(throws: InputError.self) { try VMLinux(path: riscv) }
        #expect(error.reason.contains("not a 64-bit x86_64 and arm64 ELF file (e_machine 243)"))
    }

    /// zlib-compressed DWARF (CONFIG_DEBUG_INFO_COMPRESSED_ZLIB) reads as usual; zstd either
    /// reads too (newer libdw) or is refused with a reason that says so.
    @Test(arguments: ["zlib", "zstd"]) func compressedDebugSections(kind: String) throws {
        let build = try DWARFFixture.build(dwarf: 5)
        let path = DWARFFixture.scratch + "/compressed-\(kind)"
        try DWARFFixture.run("/usr/bin/objcopy", ["--compress-debug-sections=\(kind)", build.binary, path])
        do {
            let page = try VMLinux(path: path).types.structType("page")
            #expect(try page.member("memcg_data").offset == DWARFFixture.facts().offsets["page.memcg_data"])
        } catch let error as InputError {
            #expect(kind == "zstd" && error.reason.contains("zstd"), "\(error)")
        }
    }

    /// Damaged files must throw, never trap: every prefix length of a real ELF header region,
    /// and section headers pointing past the end of the file.
    @Test func truncatedAndCorruptELF() throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: DWARFFixture.build(dwarf: 5).binary)))
        let path = DWARFFixture.scratch + "/damaged"
        for length in [4, 16, 52, 64, 200, 4096, original.count / 2] {
            try Data(original.prefix(length)).write(to: URL(fileURLWithPath: path))
            if let vmlinux = try? VMLinux(path: path) {
                _ = vmlinux.symbols.sortedByAddress
                _ = try? vmlinux.types.structType("page")
            }
        }
        var corrupt = original
        corrupt[40] = 0xff  // e_shoff far beyond the end of the file
        corrupt[41] = 0xff
        corrupt[42] = 0xff
        try Data(corrupt).write(to: URL(fileURLWithPath: path))
        #expect(throws: InputError.self) { try VMLinux(path: path) }
    }
}
