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

/// The two files every command reads.
struct DumpFiles: ParsableArguments {
    @Argument(help: "The vmlinux of the crashed kernel, with DWARF debug info.")
    var vmlinux: String

    @Argument(help: "The crash dump (ELF vmcore).")
    var vmcore: String

    /// The dump and its vmlinux; says on stderr what of the dump could not be used as given.
    func open() throws -> KernelDump {
        let dump = try KernelDump(vmlinuxPath: vmlinux, vmcorePath: vmcore)
        for warning in dump.warnings { Diagnostics.warn("\(vmcore): \(warning)") }
        return dump
    }

    func openPageOwner() throws -> PageOwnerContext {
        try PageOwnerContext(dump: open())
    }

    /// The kernel model, with page_owner's part when the kernel ran with page_owner and that
    /// part can be read (otherwise a warning says why and the model serves alone).
    func openModel() throws -> KernelModel {
        let dump = try open()
        guard try PageOwnerContext.isEnabled(dump) else { return try KernelModel(dump: dump) }
        do {
            return try PageOwnerContext(dump: dump)
        } catch let error as InputError {
            let model = try KernelModel(dump: dump)
            Diagnostics.warn("\(error); reporting without page_owner")
            return model
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, csv
}
