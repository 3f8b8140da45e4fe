import ArgumentParser
import DepotWalker
import ELFCore

struct PageOwner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "page-owner",
        abstract: "Print /sys/kernel/debug/page_owner as the crashed kernel would have.")

    @OptionGroup var files: DumpFiles

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            let warnings = PageOwnerText(context: context).write(to: StandardOutput.shared)
            if warnings > 0 { Diagnostics.warn("\(warnings) pages or stacks could not be read from \(files.vmcore); the report is partial") }
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
        }
    }
}
