import ArgumentParser
import DepotWalker
import ELFCore

/// Record selection for every report built from the pages (page-owner, stacks, summary, pfn):
/// the newest kernels' per-open-file filters (--nid, --pid, --tgid, the kernel's own rules),
/// then vmowner's own. A report that counts pages counts those of the selected records.
struct SelectionOptions: ParsableArguments {
    @Option(help: "Only records on these NUMA nodes (a node list: 0, 0,2, 0-3).")
    var nid: String?

    @Option(help: "Only records of these pids (comma-separated; a record matches --pid or --tgid).")
    var pid: String?

    @Option(help: "Only records of these tgids (comma-separated).")
    var tgid: String?

    @Option(help: "Only records whose task name matches this glob (beyond the kernel).")
    var comm: String?

    @Option(help: "Only pages charged to this memory cgroup (its name, or a path: the last part counts).")
    var memcg: String?

    @Option(help: "Only records with a frame in this module.")
    var module: String?

    @Option(help: "Only records whose gfp mask holds this flag (a gfpflag_names name, e.g. __GFP_COMP or GFP_KERNEL).")
    var gfp: String?

    @Option(help: "Only blocks of these orders (comma-separated).")
    var order: String?

    @Option(help: "Only records in this pfn range: PFN or FIRST-LAST (decimal or 0x hex).")
    var pfn: String?

    @Option(name: .customLong("stack-contains"), help: "Only records whose stack has this function.")
    var stackContains: String?

    @Option(help: "Only records allocated at or after this time (ns since boot, the ts field).")
    var since: UInt64?

    @Option(help: "Only records allocated at or before this time (ns since boot).")
    var until: UInt64?

    func validate() throws { _ = try selection(names: nil) }

    /// The selection for this dump; bad values are usage errors, as the kernel's EINVAL, and a
    /// node list naming a node without memory is refused as the kernel refuses it.
    func selection(context: PageOwnerContext, vmcore: String) throws -> RecordSelection {
        // The flag-name tables are read only when --gfp needs them.
        let s = try selection(names: gfp == nil ? nil : context.names)
        if let nids = s.nids, let node = context.nodesWithoutMemory(nids).first {
            throw InputError(file: vmcore, reason: "node \(node) has no memory; the kernel refuses such a nid list")
        }
        return s
    }

    /// The selection as a page selector, for the reports that count pages.
    func selector(context: PageOwnerContext, vmcore: String) throws -> PageSelector {
        try PageSelector(context: context, selection: selection(context: context, vmcore: vmcore))
    }

    func selection(names: FlagNames?) throws -> RecordSelection {
        var s = RecordSelection()
        s.nids = try nid.map(Self.nodeList)
        s.pids = try pid.map { try Self.pidList($0, "--pid") }
        s.tgids = try tgid.map { try Self.pidList($0, "--tgid") }
        s.commGlob = comm
        s.memcg = memcg
        s.stackModule = module
        s.stackSymbol = stackContains
        s.since = since
        s.until = until
        if let order {
            s.orders = Set(try order.split(separator: ",").map { item in
                guard let v = UInt64(item), v < 64 else { throw ValidationError("--order: '\(item)' is not an order") }
                return v
            })
        }
        if let pfn { s.pfns = try Self.pfnRange(pfn) }
        if let gfp, let names {
            guard let entry = names.gfp.first(where: { $0.name == gfp }), entry.mask != 0 else {
                throw ValidationError("--gfp: '\(gfp)' is not in this kernel's gfpflag_names")
            }
            s.gfpMask = entry.mask
        }
        return s
    }

    /// The kernel's pid list: comma-separated unsigned decimals up to PID_MAX_LIMIT, empty items
    /// skipped, at most 16.
    static func pidList(_ text: String, _ option: String) throws -> Set<Int64> {
        let items = text.split(separator: ",")
        guard items.count <= 16 else { throw ValidationError("\(option): at most 16 ids (the kernel's limit)") }
        return Set(try items.map { item in
            guard let v = UInt32(item), v <= 4_194_304 else { throw ValidationError("\(option): '\(item)' is not a pid") }
            return Int64(v)
        })
    }

    /// A node list as bitmap_parselist reads it: N, N-M, N-M:USED/GROUP, comma-separated.
    static func nodeList(_ text: String) throws -> Set<UInt64> {
        var nodes = Set<UInt64>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bad = ValidationError("--nid: '\(item)' is not a node list item")
            let parts = item.split(separator: ":", maxSplits: 1)
            guard let rangeText = parts.first else { throw bad }
            let bounds = rangeText.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = UInt64(bounds[0]), let last = bounds.count == 2 ? UInt64(bounds[1]) : first,
                  first <= last, last < 1 << 10 else { throw bad }
            var used = last - first + 1, group = used
            if parts.count == 2 {
                let g = parts[1].split(separator: "/", omittingEmptySubsequences: false)
                guard g.count == 2, let u = UInt64(g[0]), let gr = UInt64(g[1]), u >= 1, gr >= 1, u <= gr else { throw bad }
                (used, group) = (u, gr)
            }
            var n = first
            while n <= last {
                if (n - first) % group < used { nodes.insert(n) }
                n += 1
            }
        }
        guard !nodes.isEmpty else { throw ValidationError("--nid: the node list is empty") }
        return nodes
    }

    static func pfnRange(_ text: String) throws -> ClosedRange<UInt64> {
        func number(_ s: Substring) -> UInt64? {
            s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
        }
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = number(parts[0]), let last = parts.count == 2 ? number(parts[1]) : first, first <= last else {
            throw ValidationError("--pfn: '\(text)' is not PFN or FIRST-LAST")
        }
        return first...last
    }
}

extension RecordSelection.StackMode: ExpressibleByArgument {}
