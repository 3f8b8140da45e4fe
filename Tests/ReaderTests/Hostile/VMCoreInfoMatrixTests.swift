import ELFCore
import Foundation
import Testing

/// Every VMCOREINFO key vmowner reads, set to values no kernel writes, in an ELF and in a
/// kdump-compressed dump: the contract of HostileRunner holds for every command.
@Suite struct VMCoreInfoMatrixTests {
    static let formats = ["elf", "kdump-zlib"]

    /// The keys Sources reads (grep info.number/size/offset/symbol/length, pageSize,
    /// kernelOffset), and the SYMBOL keys of the symbols it asks KernelDump.address(of:) for
    /// (VMCOREINFO wins over the vmlinux there).
    static let readKeys: Set<String> = ["OSRELEASE", "PAGESIZE", "KERNELOFFSET", "SIZE(page)", "LENGTH(mem_section)",
                                        "LENGTH(node_data)", "LENGTH(zone.free_area)", "NUMBER(MAX_PHYSMEM_BITS)",
                                        "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", "NUMBER(SECTION_SIZE_BITS)",
                                        "NUMBER(pgtable_l5_enabled)", "NUMBER(phys_base)",
                                        "SYMBOL(_stext)", "SYMBOL(init_top_pgt)", "SYMBOL(swapper_pg_dir)", "SYMBOL(vmemmap)",
                                        "SYMBOL(mem_section)", "SYMBOL(node_data)", "SYMBOL(kallsyms_names)",
                                        "SYMBOL(kallsyms_num_syms)", "SYMBOL(kallsyms_token_table)",
                                        "SYMBOL(kallsyms_token_index)", "SYMBOL(kallsyms_offsets)",
                                        "SYMBOL(kallsyms_relative_base)"]

    static func dump(_ format: String) throws -> URL {
        try SimulatedDumps.dump(seed: 1, memory: "64M", format == "elf" ? [] : ["--format", format])
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let format: String
        let key: String
        var testDescription: String { "\(key) (\(format))" }
    }

    static func cases() throws -> [Case] {
        let image = try HostileFiles.image(try dump("elf").file("vmcore"))
        let text = try #require(try VMCoreInfoRewrite.notes(image).vmcoreinfo)
        let keys = text.split(separator: "\n").compactMap { line -> String? in
            guard let eq = line.firstIndex(of: "=") else { return nil }
            let key = String(line[..<eq])
            return readKeys.contains(key) ? key : nil
        }
        return formats.flatMap { format in keys.map { Case(format: format, key: $0) } }
    }

    /// -1, 0, 1, 2^32, 2^63, 2^64-1 and a 40-digit number, in the key's own radix (SYMBOL and
    /// KERNELOFFSET are hex without 0x), plus the sizes of the issue for SIZE(page).
    static func values(for key: String) -> [String] {
        let hex = key.hasPrefix("SYMBOL(") || key == "KERNELOFFSET"
        let numbers: [UInt64] = [0, 1, 1 << 32, 1 << 63, .max]
        var values = ["-1"] + numbers.map { hex ? String($0, radix: 16) : String($0) } + [String(repeating: "9", count: 40)]
        if key == "SIZE(page)" { values += ["12288", "999999", "65", "4095"] }
        return values
    }

    /// The kdump dump differs from the ELF one in how pages are read, not in what is done with
    /// them: fewer commands there keep the matrix's run time down.
    static let elfCommands: [[String]] = [["page-owner"], ["stacks"], ["info"], ["fragmentation"], ["allocinfo"]]
    static let kdumpCommands: [[String]] = [["page-owner"], ["info"], ["fragmentation"]]

    @Test(arguments: try cases())
    func hostileValue(_ c: Case) throws {
        let dir = try Self.dump(c.format)
        let image = try HostileFiles.image(dir.file("vmcore"))
        let text = try #require(try VMCoreInfoRewrite.notes(image).vmcoreinfo)
        for value in Self.values(for: c.key) {
            let path = try VMCoreInfoRewrite.variant(of: image, text: VMCoreInfoRewrite.set(c.key, to: value, in: text), name: "vmcore")
            HostileCase(label: "VMCOREINFO \(c.key)=\(value) (\(c.format))", vmlinux: dir.file("vmlinux"), vmcore: path,
                        commands: c.format == "elf" ? Self.elfCommands : Self.kdumpCommands, crafted: [path]).expectContract()
        }
    }

    /// KernelDump.address(of:) takes a SYMBOL() key before the vmlinux, so one added key makes
    /// a kernel variable read another one's value: pageblock_order 72 or 16384 (fragmentation's
    /// loops), page_ext_size, max_pfn, nr_cpu_ids, pools_num, kallsyms_num_syms of 16384 or a
    /// direct-map address.
    static let borrowedVariables: [(symbol: String, readsFrom: String)] = [
        ("pageblock_order", "page_ext_size"), ("pageblock_order", "max_pfn"), ("pageblock_order", "page_offset_base"),
        ("page_ext_size", "max_pfn"), ("page_ext_size", "page_offset_base"), ("max_pfn", "page_offset_base"),
        ("min_low_pfn", "max_pfn"), ("nr_cpu_ids", "max_pfn"), ("pools_num", "max_pfn"), ("stack_hash_mask", "page_offset_base"),
        ("kallsyms_num_syms", "max_pfn"), ("__per_cpu_offset", "page_offset_base"), ("node_data", "page_offset_base")]

    struct Borrowed: CustomTestStringConvertible, Sendable {
        let symbol: String
        let readsFrom: String
        var testDescription: String { "SYMBOL(\(symbol)) = &\(readsFrom)" }
    }

    @Test(arguments: borrowedVariables.map { Borrowed(symbol: $0.symbol, readsFrom: $0.readsFrom) })
    func variableReadFromElsewhere(_ b: Borrowed) throws {
        let dir = try Self.dump("elf")
        let image = try HostileFiles.image(dir.file("vmcore"))
        let text = try #require(try VMCoreInfoRewrite.notes(image).vmcoreinfo)
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore"))
        let address = String(try dump.requireAddress(of: b.readsFrom), radix: 16)
        let path = try VMCoreInfoRewrite.variant(of: image, text: VMCoreInfoRewrite.set("SYMBOL(\(b.symbol))", to: address, in: text), name: "vmcore")
        HostileCase(label: "VMCOREINFO SYMBOL(\(b.symbol)) = &\(b.readsFrom) (elf)", vmlinux: dir.file("vmlinux"), vmcore: path,
                    commands: Self.elfCommands + [["stacks", "--from-pages"], []], crafted: [path]).expectContract()
    }

    /// The matrix covers every key it names: vmsim writes them all.
    @Test func everyReadKeyIsInTheNote() throws {
        let keys = Set(try Self.cases().map(\.key))
        #expect(keys == Self.readKeys, "keys vmsim does not write: \(Self.readKeys.subtracting(keys).sorted())")
    }

    /// The rewrite itself is sound: an unchanged text written the same way reads as the
    /// original, and a changed value is what vmowner sees.
    @Test(arguments: formats)
    func rewriteKeepsTheDumpReadable(format: String) throws {
        let dir = try Self.dump(format)
        let image = try HostileFiles.image(dir.file("vmcore"))
        let text = try #require(try VMCoreInfoRewrite.notes(image).vmcoreinfo)
        let same = try VMCoreInfoRewrite.variant(of: image, text: text, name: "vmcore")
        defer { unlink(same) }
        try expectReport(["page-owner", dir.file("vmlinux"), same], equals: dir.appendingPathComponent("expected/page_owner.txt"), "rewritten note")
        let changed = try VMCoreInfoRewrite.variant(of: image, text: VMCoreInfoRewrite.set("OSRELEASE", to: "9.9.9-rewritten", in: text), name: "vmcore")
        defer { unlink(changed) }
        let result = try Tools.vmowner("page-owner", dir.file("vmlinux"), changed)
        #expect(result.status == 1)
        #expect(result.stderr.contains("9.9.9"), "\(result.stderr)")
    }
}
