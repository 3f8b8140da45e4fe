import ArgumentParser
import DepotWalker
import ELFCore

struct PageOwner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "page-owner",
        abstract: "Print /sys/kernel/debug/page_owner as the crashed kernel would have.")

    @OptionGroup var files: DumpFiles
    @Option(help: "Stack part of each record, as 7.x's `mode=`: stack, handle or stack_handle.")
    var mode: RecordSelection.StackMode = .stack

    @OptionGroup(title: "Selection (the 7.x kernel's filters, then vmowner's)") var select: SelectionOptions

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            var text = try PageOwnerText(context: context)
            text.selection = try select.selection(context: context, vmcore: files.vmcore)
            text.selection.mode = mode
            let warnings = text.write(to: StandardOutput.shared)
            if warnings.unreadable > 0 { Diagnostics.warn("\(warnings.unreadable) pages or stacks could not be read from \(files.vmcore); the report is partial") }
            do { _ = try context.depot } catch { Diagnostics.warn("the stack depot cannot be read (\(error)): records are printed without their stacks") }
            if warnings.memcgUnreadable > 0 {
                Diagnostics.warn("\(warnings.memcgUnreadable) records are printed without their memcg line: the memory cgroup they were charged to is not in \(files.vmcore)")
            }
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
        }
    }
}
