import DepotWalker
import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// Targets over the seed dump with fuzzed bytes patched into the pages the target's clean run
/// reads (see `Patch` for the input): each runs one CLI command's walk the way the command
/// does (Sources/vmowner/*Command.swift), its output thrown away.
enum PatchTargets {
    static let all = [modules, pageOwner, stacks, pfn, fragmentation, allocinfo, swap]

    /// The loaded-module list (`modules`, struct module, mod_kallsyms symtab/strtab).
    static let modules = patching("modules", "module list: list walk, memory regions, symtab and strtab (ModuleList)") { dump in
        guard let modules = FuzzLog.attempt("ModuleList", { try ModuleList.read(dump: dump) }) else { return }
        for m in modules {
            for s in m.symbols.prefix(32) { _ = m.lookup(s.address &+ 1) }
            _ = m.lookup(m.text.start)
            _ = m.lookup(m.text.end &- 1)
        }
    }

    /// `vmowner page-owner`: mem_section, struct pages, page_ext slots, depot records, memcg.
    static let pageOwner = withContext("page-owner", "page_owner text: memory map, struct pages, page_ext, depot records, memcg names") { c, sink in
        guard let text = FuzzLog.attempt("PageOwnerText", { try PageOwnerText(context: c) }) else { return }
        _ = text.write(to: sink)
    }

    /// `vmowner stacks` and `stacks --from-pages`, in the three file formats.
    static let stacks = withContext("stacks", "page_owner_stacks: the kernel's stack_list and the count from the pages") { c, sink in
        let report = StackReport(symbolizer: c.symbolizer)
        let threshold = StackCounts.threshold(c)
        var lists: [[StackCount]] = []
        if let fromList = FuzzLog.attempt("stack_list", { try StackCounts.fromStackList(c) }), let fromList { lists.append(fromList) }
        lists.append(StackCounts.fromPages(PageCensus(context: c), context: c))
        for list in lists {
            for parts in [StackReport.Parts.showStacks, .showHandles, .showStacksHandles] {
                sink.count(report.text(list, parts: parts, threshold: threshold))
            }
        }
    }

    /// `vmowner pfn`: 32 pfns spread over the range and past both ends.
    static let pfn = withContext("pfn", "pfn queries: one struct page and page_ext slot each, allocation and free stacks") { c, sink in
        let frames = StackReportFrames(context: c)
        let step = max(c.maxPFN / 29, 1)
        let pfns = (0..<30).map { UInt64($0) &* step } + [c.maxPFN, 1 << 40]
        for pfn in pfns {
            guard let text = FuzzLog.attempt("PageQuery", { try PageQuery.text(pfn, PageQuery.lookup(pfn, context: c), context: c, stacks: frames) }) else { continue }
            sink.count(text)
        }
    }

    /// `vmowner fragmentation --blocks`: zones, pageblock flags, the pages of every block.
    static let fragmentation = withContext("fragmentation", "pagetypeinfo tables: zones, pageblock bits, mixed blocks") { c, sink in
        guard let report = FuzzLog.attempt("Fragmentation", { try Fragmentation.scan(model: c, keepBlocks: true) }) else { return }
        sink.count(Array(FragmentationText.text(report).utf8))
        sink.count(Array(FragmentationText.blocks(report).utf8))
    }

    /// `vmowner allocinfo`: alloc tags of the image and the modules (idr xarray), per-CPU counters.
    static let allocinfo = patching("allocinfo", "allocinfo: code-tag modules (xarray), alloc tags, per-CPU counters") { dump in
        guard let info = FuzzLog.attempt("AllocInfo", { try AllocInfo.read(dump: dump) }) else { return }
        _ = AllocInfoText.text(info.ranked(by: .bytes, top: nil), version: info.version)
    }

    /// `vmowner swap`: the swap_page_owner xarray and its records.
    static let swap = withContext("swap", "swap_page_owner: xarray nodes and records") { c, sink in
        guard let records = FuzzLog.attempt("SwapOwners", { try SwapOwners.read(dump: c.dump) }) else { return }
        sink.count(SwapOwners.text(records, stacks: StackReportFrames(context: c)))
    }

    // MARK: Plumbing

    final class NullSink: TextSink {
        var bytes = 0
        func write(_ b: UnsafeRawBufferPointer) { bytes &+= b.count }
        func count(_ b: [UInt8]) { bytes &+= b.count }
    }

    /// A target that builds the page_owner context (its own reads patched too) and walks.
    static func withContext(_ name: String, _ summary: String, _ walk: @escaping (PageOwnerContext, NullSink) -> Void) -> FuzzTarget {
        patching(name, summary) { dump in
            guard let context = FuzzLog.attempt("PageOwnerContext", { try PageOwnerContext(dump: dump) }) else { return }
            let sink = NullSink()
            walk(context, sink)
            FuzzLog.note("\(sink.bytes) bytes of output")
        }
    }

    static func patching(_ name: String, _ summary: String, _ body: @escaping (KernelDump) -> Void) -> FuzzTarget {
        nonisolated(unsafe) var pages: [Int]?
        return FuzzTarget(name: name, summary: "the seed dump patched: \(summary)") { input in
            let seed = SeedDump.shared
            if pages == nil {
                pages = seed.pagesRead { body(seed.dump) }
                fputs("vmowner-fuzz: \(name): patches go to the \(pages!.count) pages of the seed vmcore that a clean run reads\n", stderr)
            }
            seed.withPatches(input, pages: pages!) { body(seed.dump) }
        }
    }
}
