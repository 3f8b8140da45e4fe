import ArgumentParser
import DepotWalker
import ELFCore
import Exports
import Foundation

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two snapshots stack by stack: pages before and after, new and vanished stacks, sorted by growth.",
        discussion: """
        Each snapshot is a crash dump (a vmcore, or the first part of a split dump with the \
        others beside it; the kernel's vmlinux given by --vmlinux or found in --debug-dir) \
        or a text the live kernel printed: page_owner_stacks/show_stacks or \
        /sys/kernel/debug/page_owner. Stacks are matched by their frames as the kernel prints \
        them, so two boots of one kernel build compare. A dump is counted as `stacks` counts it \
        (the kernel's stack list on 6.9+), with no threshold.
        """)

    @Argument(help: "The earlier snapshot: a vmcore, or show_stacks or page_owner text.")
    var before: String

    @Argument(help: "The later snapshot, of the same kinds.")
    var after: String

    @Option(help: "The vmlinux of the dumped kernel. Give it twice when the two dumps have their own files (the first for BEFORE). Without it, --debug-dir is searched by each dump's build ID and release.")
    var vmlinux: [String] = []

    @OptionGroup var debug: DebugDirOption

    @Flag(name: .customLong("from-pages"), help: "Count a dump's stacks from its pages, on any kernel.")
    var fromPages = false

    @Option(help: "Output format: text, json, csv or svg (a differential flame graph: growth red, shrinkage blue).")
    var format: DiffFormat = .text

    func validate() throws {
        if vmlinux.count > 2 { throw ValidationError("--vmlinux is given once (both dumps) or twice (before, after)") }
    }

    func run() throws {
        try runReporting(after) {
            let old = try snapshot(before, vmlinux: vmlinux.first)
            let new = try snapshot(after, vmlinux: vmlinux.last)
            let diff = StackDiff(before: old, after: new)
            switch format {
            case .text: StandardOutput.shared.write(diff.text(pageSize: StackExport.pageSize))
            case .json: StandardOutput.shared.write(try JSONText.encode(diff.document))
            case .csv: StandardOutput.shared.write(diff.csv())
            case .svg:
                let title = "Pages by allocation stack, \(before) -> \(after): red grew, blue shrank"
                StandardOutput.shared.write(FlameGraphSVG(title: title, pageSize: StackExport.pageSize).renderDiff(diff))
            }
        }
    }

    /// The stacks of one snapshot, from kernel text or from a dump.
    func snapshot(_ path: String, vmlinux: String?) throws -> [StackSample] {
        if let text = try Self.kernelText(path) {
            do {
                return try KernelTexts.samples(text).samples
            } catch {
                throw InputError(file: path, reason: "\(error)")
            }
        }
        let context = try PageOwnerContext(dump: KernelDump(vmlinuxPath: vmlinux, vmcorePaths: [path], debugInfo: debug.locator, btfPath: debug.btf))
        Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: path)
        return StackExport.samples(try StackSource.counts(context, fromPages: fromPages, vmcore: path), context: context, threshold: 0)
    }

    /// The file's bytes when it is what the kernel prints (its first 64 KiB tell), else nil.
    static func kernelText(_ path: String) throws -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw InputError(file: path, reason: "cannot open")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 1 << 16)) ?? Data()
        guard !head.contains(0), KernelTexts.kind(of: head) != nil else { return nil }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw InputError(file: path, reason: "cannot read")
        }
        return data
    }
}

enum DiffFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv, svg
}
