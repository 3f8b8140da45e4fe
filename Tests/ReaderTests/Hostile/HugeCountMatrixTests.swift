import ELFCore
import Foundation
import Testing

/// Counts and sizes of 2^40 and 2^64-1 (or the largest their field holds): kdump header
/// fields, ELF program headers and notes, and the kernel variables that size the walks.
@Suite struct HugeCountMatrixTests {
    /// A field of the file: where it is, how wide, and which values it gets.
    struct Field: CustomTestStringConvertible, Sendable {
        let format: String
        let name: String
        let width: Int
        var testDescription: String { "\(name) (\(format))" }
    }

    static func values(width: Int) -> [UInt64] {
        width == 8 ? [1 << 40, .max, 1 << 63] : width == 4 ? [.max >> 32, 1 << 31, 1 << 20] : [0xffff, 0x8000]
    }

    static let kdumpFields: [(String, Int)] = [
        ("header_version", 4), ("block_size", 4), ("sub_hdr_size", 4), ("bitmap_blocks", 4), ("max_mapnr", 4), ("nr_cpus", 4),
        ("sub.offset_vmcoreinfo", 8), ("sub.size_vmcoreinfo", 8), ("sub.offset_note", 8), ("sub.size_note", 8),
        ("sub.max_mapnr_64", 8), ("sub.split start_pfn_64", 8), ("sub.split end_pfn_64", 8), ("descriptor[0].offset", 8),
        ("descriptor[0].size", 4), ("descriptor[0].flags", 4)]
    static let elfFields: [(String, Int)] = [
        ("e_phoff", 8), ("e_phentsize", 2), ("e_phnum", 2), ("PT_NOTE p_offset", 8), ("PT_NOTE p_filesz", 8),
        ("PT_LOAD[0] p_offset", 8), ("PT_LOAD[0] p_filesz", 8), ("PT_LOAD[0] p_memsz", 8), ("PT_LOAD[0] p_paddr", 8),
        ("note[0] namesz", 4), ("note[0] descsz", 4), ("VMCOREINFO note namesz", 4), ("VMCOREINFO note descsz", 4)]
    /// Kernel variables (in the ELF dump's memory) and their widths.
    static let variables: [(String, Int)] = [
        ("kallsyms_num_syms", 4), ("page_ext_size", 8), ("max_pfn", 8), ("min_low_pfn", 8), ("pools_num", 4),
        ("stack_hash_mask", 4), ("nr_cpu_ids", 4), ("page_owner_ops.offset", 8), ("node_data[0].node_spanned_pages", 8),
        ("node_data[0].node_start_pfn", 8), ("__per_cpu_offset[0]", 8)]

    static let cases: [Field] = kdumpFields.map { Field(format: "kdump-zlib", name: $0.0, width: $0.1) }
        + elfFields.map { Field(format: "elf", name: $0.0, width: $0.1) }
        + variables.map { Field(format: "memory", name: $0.0, width: $0.1) }

    /// [] is the summary.
    static let commands: [[String]] = [["page-owner"], ["stacks"], ["info"], ["fragmentation"], ["allocinfo"], []]

    @Test(arguments: cases)
    func hugeValue(_ f: Field) throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M", f.format == "kdump-zlib" ? ["--format", "kdump-zlib"] : [])
        let image = try HostileFiles.image(dir.file("vmcore"))
        let at = try Self.offset(of: f, image: image, dir: dir)
        for value in Self.values(width: f.width) {
            var patches = [(at, HostileFiles.le(value, f.width))]
            if f.name.hasPrefix("sub.split") { patches.append((Int(image.le(428, 4)) + 12, HostileFiles.le(1, 4))) }
            let path = try image.variant("vmcore", patches: patches)
            HostileCase(label: "\(f.name) = \(value) (\(f.format))", vmlinux: dir.file("vmlinux"), vmcore: path,
                        commands: Self.commands, crafted: [path]).expectContract()
        }
    }

    static func offset(of f: Field, image: HostileFiles.Image, dir: URL) throws -> Int {
        switch f.format {
        case "kdump-zlib":
            let bs = Int(image.le(428, 4)), sub = bs
            let descriptors = (1 + Int(image.le(432, 4)) + Int(image.le(436, 4))) * bs
            let table: [String: Int] = [
                "header_version": 8, "block_size": 428, "sub_hdr_size": 432, "bitmap_blocks": 436, "max_mapnr": 440, "nr_cpus": 460,
                "sub.offset_vmcoreinfo": sub + 32, "sub.size_vmcoreinfo": sub + 40, "sub.offset_note": sub + 48,
                "sub.size_note": sub + 56, "sub.max_mapnr_64": sub + 96, "sub.split start_pfn_64": sub + 80,
                "sub.split end_pfn_64": sub + 88, "descriptor[0].offset": descriptors, "descriptor[0].size": descriptors + 8,
                "descriptor[0].flags": descriptors + 12]
            return try #require(table[f.name])
        case "elf":
            let headers = VMCoreInfoRewrite.elfProgramHeaders(image)
            let note = try #require(headers.first { $0.type == 4 })
            let load = try #require(headers.first { $0.type == 1 })
            var noteAt = note.offset
            let list = NoteList(image.bytes[note.offset..<note.offset + note.filesz])
            for n in list.notes.prefix(list.vmcoreinfoIndex ?? 0) { noteAt += 12 + (n.name.count + 3) & ~3 + (n.desc.count + 3) & ~3 }
            let table: [String: Int] = [
                "e_phoff": 32, "e_phentsize": 54, "e_phnum": 56, "PT_NOTE p_offset": note.at + 8, "PT_NOTE p_filesz": note.at + 32,
                "PT_LOAD[0] p_offset": load.at + 8, "PT_LOAD[0] p_filesz": load.at + 32, "PT_LOAD[0] p_memsz": load.at + 40,
                "PT_LOAD[0] p_paddr": load.at + 24, "note[0] namesz": note.offset, "note[0] descsz": note.offset + 4,
                "VMCOREINFO note namesz": noteAt, "VMCOREINFO note descsz": noteAt + 4]
            return try #require(table[f.name])
        default:
            let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore"))
            let types = dump.types
            let va: UInt64
            switch f.name {
            case "page_owner_ops.offset":
                va = try dump.requireAddress(of: "page_owner_ops") &+ UInt64(try types.structType("page_ext_operations").member("offset").offset)
            case "node_data[0].node_spanned_pages", "node_data[0].node_start_pfn":
                let node = try dump.memory.u64(try dump.requireAddress(of: "node_data"))
                let member = String(f.name.split(separator: ".")[1])
                va = node &+ UInt64(try types.structType("pglist_data").member(member).offset)
            case "__per_cpu_offset[0]":
                va = try dump.requireAddress(of: "__per_cpu_offset")
            default:
                va = try dump.requireAddress(of: f.name)
            }
            return Int(try BadInputTests.fileOffset(dump, virtual: va))
        }
    }
}
