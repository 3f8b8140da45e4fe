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
                      AllocInfoCommand.self, FragmentationCommand.self, Swap.self, Sort.self],
        defaultSubcommand: Summary.self
    )
}

/// The two files every command reads.
struct DumpFiles: ParsableArguments {
    @Argument(help: "The vmlinux of the crashed kernel, with DWARF debug info.")
    var vmlinux: String

    @Argument(help: "The crash dump (ELF vmcore).")
    var vmcore: String

    func open() throws -> KernelDump {
        try KernelDump(vmlinuxPath: vmlinux, vmcorePath: vmcore)
    }

    func openPageOwner() throws -> PageOwnerContext {
        try PageOwnerContext(dump: open())
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv
}
