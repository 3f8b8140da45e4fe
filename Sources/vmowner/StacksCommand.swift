import ArgumentParser
import DepotWalker
import ELFCore
import Foundation

struct Stacks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print page_owner_stacks/show_stacks (or show_handles, show_stacks_handles).",
        discussion: """
        On kernels that keep the allocation stack list (6.9+) the counts are the kernel's own; on \
        older kernels, with --from-pages, or with a selection, they are counted from the pages (a \
        selection counts the pages of the records page-owner would list with the same options).
        """)

    @OptionGroup var files: DumpFiles

    @Option(help: "Leave out stacks holding fewer base pages (count_threshold). Default: the dumped kernel's own threshold.")
    var threshold: UInt64?

    @Flag(help: "Print show_handles: handle and page count, no stack.")
    var handles = false

    @Flag(name: .customLong("with-handles"), help: "Print show_stacks_handles: stack and handle, every stack listed.")
    var withHandles = false

    @Flag(name: .customLong("from-pages"), help: "Count the pages of each stack from the pages themselves, on any kernel.")
    var fromPages = false

    @Flag(help: "Count pages that are out in swap under their allocation stacks (swap_page_owner kernels).")
    var swap = false

    @OptionGroup(title: "Selection") var select: SelectionOptions

    @Option(help: "Output format: text, json, csv, folded (flamegraph.pl/speedscope input), svg (an interactive flame graph) or pprof (gzipped profile.proto).")
    var format: StacksFormat = .text

    func validate() throws {
        if handles && withHandles { throw ValidationError("--handles and --with-handles are different files; pick one") }
        if format.isProfile && (handles || withHandles) { throw ValidationError("--format \(format.rawValue) draws pages per stack; --handles and --with-handles are text files") }
    }

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
            let limit = threshold ?? StackCounts.threshold(context)
            let selector = try select.selector(context: context, vmcore: files.vmcore)
            let keepsList = fromPages || !selector.selectsAll ? false : (try? StackCounts.fromStackList(context)).flatMap { $0 } != nil
            if format == .pprof, !swap, !keepsList {
                // Counted from the pages: each sample also says whose pages they are.
                let groups = try OwnerGroups.count(context, selector: selector)
                if groups.unreadable > 0 { Diagnostics.warn("\(groups.unreadable) pages could not be read from \(files.vmcore); counts are partial") }
                try StackExport.write(.pprof, StackExport.samples(groups.groups, context: context, threshold: limit), context: context)
                return
            }
            var list = try StackSource.counts(context, fromPages: fromPages, selector: selector, vmcore: files.vmcore)
            if swap { list = SwapOwners.adding(try SwapOwners.read(dump: context.dump), to: list) }
            let parts: StackReport.Parts = handles ? .showHandles : withHandles ? .showStacksHandles : .showStacks
            switch format {
            case .text:
                StandardOutput.shared.write(StackReport(symbolizer: context.symbolizer).text(list, parts: parts, threshold: limit))
            case .json, .csv:
                let rows = list.filter { parts.contains(.pages) ? $0.pages >= 1 && UInt64($0.pages) >= limit : true }
                    .map { StackRow(handle: $0.handle, nr_base_pages: $0.pages, frames: ($0.frames ?? []).map(context.symbolizer.format)) }
                if format == .json {
                    StandardOutput.shared.write(try JSONText.encode(StacksDocument(threshold: limit, stacks: rows)))
                } else {
                    var csv = "handle,nr_base_pages,frames\n"
                    for r in rows { csv += "\(r.handle),\(r.nr_base_pages),\(CSV.field(r.frames.joined(separator: ";")))\n" }
                    StandardOutput.shared.write(csv)
                }
            case .folded, .svg, .pprof:
                try StackExport.write(format, StackExport.samples(list, context: context, threshold: limit), context: context)
            }
        }
    }
}

struct StackRow: Codable {
    let handle: UInt32
    let nr_base_pages: Int64
    let frames: [String]
}

struct StacksDocument: Codable {
    let threshold: UInt64
    let stacks: [StackRow]
}
