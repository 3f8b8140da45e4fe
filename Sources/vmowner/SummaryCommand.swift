import ArgumentParser
import DepotWalker
import ELFCore

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Kernel, memory, pages tracked, the top allocation stacks and tasks by pages.")

    @OptionGroup var files: DumpFiles

    @OptionGroup(title: "Selection (pages of the records page-owner would list with the same options)") var select: SelectionOptions

    @Option(help: "How many stacks and tasks to list.")
    var top = 10

    @Option(help: "Output format: text, json or csv.")
    var format: OutputFormat = .text

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
            let census = PageCensus(context: context, selector: try select.selector(context: context, vmcore: files.vmcore))
            if census.unreadable > 0 { Diagnostics.warn("\(census.unreadable) pages could not be read from \(files.vmcore); counts are partial") }
            let document = SummaryDocument(context: context, census: census, top: max(top, 0))
            switch format {
            case .text: StandardOutput.shared.write(document.text)
            case .json: StandardOutput.shared.write(try JSONText.encode(document))
            case .csv: StandardOutput.shared.write(document.csv)
            }
        }
    }
}

struct SummaryDocument: Codable {
    struct Stack: Codable {
        let handle: UInt32
        let pages: Int64
        let mib: Double
        let percent: Double
        let frames: [String]
    }
    struct Task: Codable {
        let pid: Int64
        let comm: String
        let pages: Int64
        let mib: Double
        let percent: Double
    }
    let release: String
    let memory_bytes: UInt64
    let max_pfn: UInt64
    let page_size: UInt64
    let pages_tracked: Int64
    let pages_allocated: Int64
    let unreadable_pages: Int
    let top_stacks: [Stack]
    let top_tasks: [Task]

    init(context c: PageOwnerContext, census: PageCensus, top: Int) {
        release = c.dump.release
        memory_bytes = c.dump.physical.ranges.reduce(0) { $0 &+ ($1.end &- $1.start) }
        max_pfn = c.maxPFN
        page_size = c.dump.pageSize
        pages_tracked = census.pagesStamped
        pages_allocated = census.pagesAllocated
        unreadable_pages = census.unreadable
        let total = Double(max(census.pagesAllocated, 1))
        let pageSize = Double(c.dump.pageSize)
        func mib(_ pages: Int64) -> Double { (Double(pages) * pageSize / 1048576 * 10).rounded() / 10 }
        func percent(_ pages: Int64) -> Double { (Double(pages) / total * 1000).rounded() / 10 }
        top_stacks = census.pagesByHandle
            .sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .prefix(top)
            .map { handle, pages in
                let frames = ((try? c.depot.frames(of: handle)) ?? []).map { c.symbolizer.format($0) }
                return Stack(handle: handle, pages: pages, mib: mib(pages), percent: percent(pages), frames: frames)
            }
        top_tasks = census.pagesByTask
            .sorted { ($0.value, $1.key.pid) > ($1.value, $0.key.pid) }
            .prefix(top)
            .map { Task(pid: $0.key.pid, comm: $0.key.comm, pages: $0.value, mib: mib($0.value), percent: percent($0.value)) }
    }

    var text: String {
        var s = ""
        s += "kernel:     Linux \(release)\n"
        s += "memory:     \(String(format1: Double(memory_bytes) / 1048576)) MiB, max_pfn 0x\(String(max_pfn, radix: 16))\n"
        s += "page_owner: \(pages_tracked) pages tracked, \(pages_allocated) allocated (\(String(format1: Double(pages_allocated) * Double(page_size) / 1048576)) MiB)\n"
        if unreadable_pages > 0 { s += "warning:    \(unreadable_pages) pages could not be read\n" }
        s += "\nTop allocation stacks by pages:\n"
        for st in top_stacks {
            s += "\(pad(st.pages, 10)) pages \(pad(String(format1: st.mib), 9)) MiB \(pad(String(format1: st.percent), 5))%  handle \(st.handle)\n"
            for f in st.frames { s += "      \(f)\n" }
        }
        s += "\nTop tasks by pages:\n"
        s += "     pages        MiB      %      pid  comm\n"
        for t in top_tasks {
            s += "\(pad(t.pages, 10)) \(pad(String(format1: t.mib), 10)) \(pad(String(format1: t.percent), 6)) \(pad(t.pid, 8))  \(t.comm)\n"
        }
        return s
    }

    var csv: String {
        var s = "kind,key,name,pages,mib,percent\n"
        for st in top_stacks { s += "stack,\(st.handle),\(CSV.field(st.frames.first ?? "")),\(st.pages),\(st.mib),\(st.percent)\n" }
        for t in top_tasks { s += "task,\(t.pid),\(CSV.field(t.comm)),\(t.pages),\(t.mib),\(t.percent)\n" }
        return s
    }

    private func pad<T: CustomStringConvertible>(_ v: T, _ width: Int) -> String {
        let s = v.description
        return String(repeating: " ", count: max(0, width - s.count)) + s
    }
}
