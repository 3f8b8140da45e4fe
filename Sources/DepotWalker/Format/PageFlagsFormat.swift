import ELFCore

/// `%pGp`: `0x<flags>(names|section=..|node=..|zone=..|lastcpupid=0x..|kasantag=0x..)` (5.16+).
/// The field widths are macros of page-flags-layout.h; they are derived here from what the
/// dump shows (enum values, array lengths, symbols), following the kernel's rules.
public struct PageFlagsFormat: Sendable {
    struct FieldSpec: Sendable {
        let name: String
        let shift: UInt64
        let width: UInt64
        let hex: Bool
    }

    let pageFlagsMask: UInt64
    /// The fields %pGp prints (none before 5.14).
    let fields: [FieldSpec]
    /// Where the section, node, zone and last-cpupid numbers sit in page->flags, on every
    /// kernel (page_zone needs them whether or not %pGp prints them).
    let layout: [FieldSpec]

    init(dump: KernelDump) throws {
        let types = dump.types
        let bitsPerLong: UInt64 = 64
        // mm/debug.c, home of pageflag_names, has enum pageflags.
        guard let nrPageFlags = try types.enumerator("__NR_PAGEFLAGS", in: UInt64(1)...63, near: "pageflag_names") else {
            throw InputError(file: dump.kernelFile, reason: "enum pageflags (__NR_PAGEFLAGS) not found in the \(dump.types.origin)")
        }
        pageFlagsMask = (UInt64(1) << nrPageFlags) - 1

        // Only SPARSEMEM without VMEMMAP keeps the section number in page->flags.
        let sectionsWidth = try MemoryMap.sectionsWidth(dump)
        let maxZones = try types.enumerator("__MAX_NR_ZONES", in: UInt64(1)...64) ?? 4
        let zonesWidth: UInt64 = maxZones <= 1 ? 0 : maxZones <= 2 ? 1 : maxZones <= 4 ? 2 : 3
        // NODES_SHIFT: MAX_NUMNODES = the length of node_data on NUMA kernels (x86_64 writes
        // LENGTH(node_data); arm64's generic NUMA code has the same array but no such line, so
        // its DWARF type tells); none without NUMA.
        var nodesShift: UInt64 = 0
        var nodes = dump.info.nodeDataLength
        if nodes == nil, dump.symbols.address(of: "node_data") != nil,
           case .array(_, let count?) = try? types.variableType("node_data").resolved, count > 0, count <= 1 << 12 {
            nodes = UInt64(count)
        }
        if let nodes, nodes > 1 { nodesShift = UInt64(64 - (nodes - 1).leadingZeroBitCount) }
        let nodesWidth = sectionsWidth + zonesWidth + nodesShift <= bitsPerLong - nrPageFlags ? nodesShift : 0
        // LAST_CPUPID exists with NUMA balancing: 8 pid bits + NR_CPUS_BITS.
        var lastCpupidWidth: UInt64 = 0
        if dump.symbols.address(of: "sysctl_numa_balancing_mode") != nil,
           case .array(_, let cpus?) = try? types.variableType("__per_cpu_offset").resolved, cpus > 0 {
            let cpuBits = UInt64(cpus <= 1 ? 0 : 64 - (UInt64(cpus) - 1).leadingZeroBitCount)
            let shift = 8 + cpuBits
            if sectionsWidth + zonesWidth + nodesWidth + shift <= bitsPerLong - nrPageFlags { lastCpupidWidth = shift }
        }
        let sectionsOff = bitsPerLong - sectionsWidth
        let nodesOff = sectionsOff - nodesWidth
        let zonesOff = nodesOff - zonesWidth
        let lastCpupidOff = zonesOff - lastCpupidWidth
        // The section/node/zone fields are printed from 5.14, where vsprintf gained its field
        // table `pff`; struct page_owner gained free_ts_nsec at 5.13, the closest layout sign.
        let printsFields = try types.hasVariable("pff") || (try? types.structType("page_owner", near: "page_owner_ops"))?.memberIfPresent("free_ts_nsec") != nil
        layout = [
            FieldSpec(name: "section", shift: sectionsOff, width: sectionsWidth, hex: false),
            FieldSpec(name: "node", shift: nodesOff, width: nodesWidth, hex: false),
            FieldSpec(name: "zone", shift: zonesOff, width: zonesWidth, hex: false),
            FieldSpec(name: "lastcpupid", shift: lastCpupidOff, width: lastCpupidWidth, hex: true),
        ].filter { $0.width > 0 }
        fields = printsFields ? layout : []
    }

    func append(_ flags: UInt64, names: [FlagNames.Entry], into out: inout [UInt8]) {
        out.appendHex(flags)
        out.append(UInt8(ascii: "("))
        let main = flags & pageFlagsMask
        var needBar = false
        if main != 0 {
            FlagNames.format(main, with: names, into: &out)
            needBar = true
        }
        for f in fields {
            if needBar { out.append(UInt8(ascii: "|")) }
            out.append(contentsOf: f.name.utf8)
            out.append(UInt8(ascii: "="))
            let value = (flags >> f.shift) & ((UInt64(1) << f.width) - 1)
            if f.hex { out.appendHex(value) } else { out.appendDecimal(value) }
            needBar = true
        }
        out.append(UInt8(ascii: ")"))
    }
}
