import ArgumentParser
import DepotWalker
import ELFCore

@main
struct VMOwner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmowner",
        abstract: "Who allocated this memory? page_owner reports rebuilt from a kernel crash dump.",
        discussion: """
        vmowner reads a kdump vmcore and the vmlinux (with DWARF) of the crashed kernel and prints \
        what /sys/kernel/debug/page_owner and page_owner_stacks/ would have printed at the moment \
        of the crash. With no subcommand it prints a summary.
        """,
        subcommands: [Summary.self, PageOwner.self, Stacks.self, PFN.self, Info.self, Floor.self,
                      AllocInfoCommand.self, FragmentationCommand.self, Swap.self, Diff.self, Sort.self],
        defaultSubcommand: Summary.self
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv
}
