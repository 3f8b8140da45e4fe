import ArgumentParser
import DepotWalker
import ELFCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe the dump: format, architecture, release, KASLR offset, memory, page_owner features.")

    @OptionGroup var files: DumpFiles

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        try runReporting(files.vmcore) {
            let dump = try files.open()
            let document = try InfoDocument(dump: dump)
            if format == .json {
                StandardOutput.shared.write(try JSONText.encode(document))
            } else {
                StandardOutput.shared.write(document.text)
            }
        }
    }
}

struct InfoDocument: Codable {
    struct Range: Codable { let start: UInt64; let end: UInt64 }
    let format: String
    let arch: String
    let page_size: UInt64
    struct Constant: Codable { let name: String; let value: String }
    /// The constants the address translation was set up with.
    let translation: [Constant]
    /// How VMCOREINFO was found in memory when the dump had no note; absent otherwise.
    let vmcoreinfo_recovered: [String]?
    let release: String
    let kernel_offset: UInt64
    let memory_bytes: UInt64
    let ranges: [Range]
    /// SPARSEMEM_EXTREME, SPARSEMEM or FLATMEM.
    let memory_model: String?
    /// SPARSEMEM_VMEMMAP: struct pages in one virtual array rather than per section.
    let vmemmap: Bool
    let page_owner_enabled: Bool
    let page_owner_record_bytes: Int?
    let page_owner_fields: [String]
    let stack_list: Bool
    let stack_depot_pools: UInt64?
    let stack_depot_records: Int?
    let symbols: String
    /// Where the kernel's types and symbols came from (vmlinux DWARF, a BTF, kallsyms).
    let kernel: String

    init(dump: KernelDump) throws {
        format = dump.physical.formatName
        arch = dump.architecture.rawValue
        page_size = dump.pageSize
        translation = dump.translationFacts.map { Constant(name: $0.name, value: $0.value) }
        release = dump.release
        vmcoreinfo_recovered = dump.vmcoreinfoRecovery
        kernel_offset = dump.kernelOffset
        ranges = dump.physical.ranges.map { Range(start: $0.start, end: $0.end) }
        memory_bytes = dump.physical.ranges.reduce(0) { $0 &+ ($1.end &- $1.start) }
        let model = try? MemoryMap.model(of: dump)
        memory_model = model?.rawValue
        vmemmap = model != .flat && MemoryMap.hasVmemmap(dump)
        page_owner_enabled = try PageOwnerContext.isEnabled(dump)
        let types = dump.types
        // Only a kernel built with page_owner has the type; looking for it elsewhere would scan
        // the whole DWARF for nothing.
        if dump.address(of: "page_owner_ops") != nil, let layout = try? types.structType("page_owner", near: "page_owner_ops") {
            page_owner_record_bytes = layout.size
            page_owner_fields = layout.members.map(\.name)
        } else {
            page_owner_record_bytes = nil
            page_owner_fields = []
        }
        stack_list = dump.address(of: "stack_list") != nil
        let depot = page_owner_enabled ? try? StackDepot(dump: dump) : nil
        stack_depot_pools = depot?.poolCount
        stack_depot_records = depot.flatMap { try? DepotTable.enumerate(dump: dump, depot: $0).count }
        symbols = Kallsyms.Location(dump) != nil ? "kallsyms from the dump" : "vmlinux symbol table (fallback)"
        kernel = dump.kernelSources
    }

    var text: String {
        var s = ""
        s += "format:       \(format)\n"
        s += "arch:         \(arch), \(page_size / 1024) KiB pages\n"
        for constant in translation { s += "              \(constant.name): \(constant.value)\n" }
        s += "release:      \(release)\n"
        s += "kernel:       \(kernel)\n"
        s += "KASLR offset: 0x\(String(kernel_offset, radix: 16))\n"
        if let vmcoreinfo_recovered {
            s += "VMCOREINFO:   not in the dump; recovered from its memory:\n"
            for line in vmcoreinfo_recovered { s += "              \(line)\n" }
        }
        s += "memory:       \(memory_bytes) bytes (\(Units.mib(memory_bytes)) MiB) in \(ranges.count) ranges\n"
        for r in ranges { s += "              0x\(String(r.start, radix: 16))-0x\(String(r.end, radix: 16))\n" }
        if let memory_model { s += "memory model: \(memory_model)\(vmemmap ? " + SPARSEMEM_VMEMMAP" : "")\n" }
        s += "page_owner:   \(page_owner_enabled ? "enabled" : "not enabled (boot with page_owner=on)")\n"
        if let bytes = page_owner_record_bytes {
            s += "record:       struct page_owner, \(bytes) bytes: \(page_owner_fields.joined(separator: ", "))\n"
        }
        s += "show_stacks:  \(stack_list ? "kept by the kernel (stack_list)" : "counted from pages (kernel has no stack_list)")\n"
        if let pools = stack_depot_pools {
            s += "stack depot:  \(pools) pools, \(stack_depot_records.map(String.init) ?? "unreadable") stacks\n"
        }
        s += "symbols:      \(symbols)\n"
        return s
    }
}

enum Units {
    static func mib(_ bytes: UInt64) -> String { String(format1: Double(bytes) / 1048576) }
}

extension String {
    /// One decimal place, without Foundation's locale.
    init(format1 value: Double) {
        let tenths = Int64((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
