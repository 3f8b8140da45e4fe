import ArgumentParser
import DepotWalker
import ELFCore

/// The files every command reads: `[VMLINUX] VMCORE [PART...]`, in any order, told apart by
/// their content. One dump file, or the parts of a `makedumpfile --split` dump (all of them,
/// or the first with the rest beside it); the vmlinux is optional: without it, --debug-dir is
/// searched by the dump's build ID and release, and when none is there the dump is read alone.
/// So `vmowner CMD VMLINUX VMCORE` still reads as always.
struct DumpFiles: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "[VMLINUX] VMCORE [PART...]: the crash dump (every part of a makedumpfile --split dump, or one part with the others beside it) and the vmlinux of the crashed kernel (with DWARF, or stripped with its .BTF); in any order, recognized by content. Without a vmlinux, --debug-dir is searched, then the kernel's own kallsyms and BTF in the dump are used.",
        valueName: "files"), completion: .file())
    var files: [String]

    @OptionGroup var debug: DebugDirOption

    var input: DumpInput { DumpInput(paths: files, debugInfo: debug.locator, btf: debug.btf) }

    /// The dump's path, for messages.
    var vmcore: String { input.vmcore }

    func open() throws -> KernelDump { try input.open() }
    func openPageOwner() throws -> PageOwnerContext { try input.openPageOwner() }
    func openModel() throws -> KernelModel { try input.openModel() }
}

/// `--debug-dir`: where a vmlinux that is not named is looked for.
struct DebugDirOption: ParsableArguments {
    @Option(name: .customLong("debug-dir"), help: ArgumentHelp(
        "Where to find the vmlinux when none is given: by build ID (.build-id/xx/rest.debug), then boot/vmlinux-RELEASE, lib/modules/RELEASE/vmlinux, vmlinux-RELEASE.",
        valueName: "dir"), completion: .directory)
    var debugDir: String = DebugInfoLocator.defaultDirectory

    @Option(name: .customLong("btf"), help: ArgumentHelp(
        "The kernel's types from this raw BTF file (/sys/kernel/btf/vmlinux of the same build, or pahole --btf_encode_detached) instead of the vmlinux's or the dump's.",
        valueName: "file"), completion: .file())
    var btf: String?

    var locator: DebugInfoLocator { DebugInfoLocator(directory: debugDir) }
}

/// The paths of one dump, sorted out by content, and how to open them.
struct DumpInput {
    let paths: [String]
    let debugInfo: DebugInfoLocator
    var btf: String? = nil

    /// The first path that is not the vmlinux (the named dump, or its first part).
    var vmcore: String {
        (try? classified().dumps.first) ?? paths.last ?? "vmcore"
    }

    /// The vmlinux (at most one) and the dump files, in the order given.
    func classified() throws -> (vmlinux: String?, dumps: [String]) {
        var vmlinux: String?
        var dumps: [String] = []
        for path in paths {
            switch try InputKind.of(path: path) {
            case .dump: dumps.append(path)
            case .vmlinux:
                if let first = vmlinux {
                    throw InputError(file: path, reason: "a second vmlinux (after \(first)): give one vmlinux and the dump")
                }
                vmlinux = path
            }
        }
        guard !dumps.isEmpty else {
            throw InputError(file: vmlinux ?? paths.first ?? "", reason: "this is a vmlinux, and no crash dump is given with it")
        }
        return (vmlinux, dumps)
    }

    /// The dump and its vmlinux; says on stderr what of the dump could not be used as given.
    func open() throws -> KernelDump {
        let (vmlinux, dumps) = try classified()
        let dump = try KernelDump(vmlinuxPath: vmlinux, vmcorePaths: dumps, debugInfo: debugInfo, btfPath: btf)
        for warning in dump.warnings { Diagnostics.warn("\(dumps[0]): \(warning)") }
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
