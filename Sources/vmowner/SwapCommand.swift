import ArgumentParser
import DepotWalker
import ELFCore

struct Swap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print swap_page_owner: who allocated the pages that were out in swap.",
        discussion: """
        Kernels with the swap_page_owner patches (RFC "mm/page_owner: add support for pages in \
        swap space") keep the owner of each swapped-out page, keyed by its swap entry.
        """)

    @OptionGroup var files: DumpFiles

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
            let records = try SwapOwners.read(dump: context.dump)
            StandardOutput.shared.write(SwapOwners.text(records, stacks: StackReportFrames(context: context)))
        }
    }
}
