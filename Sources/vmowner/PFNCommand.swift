import ArgumentParser
import DepotWalker
import ELFCore

struct PFN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pfn",
        abstract: "Who owns these pages: allocation record and stack, and the free stack when freed.")

    /// The dump's files, then the pfns: the first operand that is a number starts the pfns.
    @Argument(help: ArgumentHelp(
        "[VMLINUX] VMCORE [PART...] PFN...: the dump's files as for every command, then page frame numbers, hex (0x...) or decimal (physical addresses with --paddr).",
        valueName: "operands"), completion: .file())
    var operands: [String]

    @OptionGroup var debug: DebugDirOption

    var files: DumpInput { DumpInput(paths: Array(operands.prefix { Self.parse($0) == nil }), debugInfo: debug.locator, btf: debug.btf) }
    var addresses: [String] { Array(operands.drop { Self.parse($0) == nil }) }

    @Flag(help: "Take the arguments as physical addresses rather than pfns.")
    var paddr = false

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @OptionGroup(title: "Selection (print only the pfns of the records page-owner would list)") var select: SelectionOptions

    func validate() throws {
        if files.paths.isEmpty { throw ValidationError("give the dump's files (VMCORE, with its VMLINUX unless --debug-dir holds it or the kernel carries its BTF) before the PFNs") }
        if addresses.isEmpty { throw ValidationError("give at least one PFN") }
        for a in addresses where Self.parse(a) == nil { throw ValidationError("'\(a)' is not a number (use 0x... for hex)") }
        if format == .csv { throw ValidationError("pfn prints text or json") }
    }

    static func parse(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        return UInt64(s)
    }

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: files.vmcore)
            let stacks = StackReportFrames(context: context)
            let selector = try select.selector(context: context, vmcore: files.vmcore)
            var documents: [PFNDocument] = []
            for a in addresses {
                let value = Self.parse(a) ?? 0
                let pfn = paddr ? value >> context.dump.pageShift : value
                // With a selection, only pfns of the selected records are printed.
                guard selector.keeps(pfn: pfn, context: context) else { continue }
                let answer = PageQuery.lookup(pfn, context: context)
                if format == .json {
                    documents.append(try PFNDocument(pfn, answer, context: context, stacks: stacks))
                } else {
                    StandardOutput.shared.write(try PageQuery.text(pfn, answer, context: context, stacks: stacks))
                }
            }
            if format == .json { StandardOutput.shared.write(try JSONText.encode(documents)) }
        }
    }
}

/// `vmowner pfn --format json`: one object per pfn asked.
struct PFNDocument: Codable {
    let pfn: UInt64
    let status: String            // "allocated", "freed", "never_set", "no_page_ext", "no_page"
    let detail: String?
    let head_pfn: UInt64?
    let order: UInt64?
    let gfp_mask: UInt64?
    let pid: Int64?
    let tgid: Int64?
    let comm: String?
    let ts_nsec: UInt64?
    let free_ts_nsec: UInt64?
    let free_pid: Int64?
    let free_tgid: Int64?
    let handle: UInt32?
    let stack: [String]?
    let free_handle: UInt32?
    let free_stack: [String]?
    let last_migrate_reason: String?
    let buddy_order: UInt64?

    init(_ pfn: UInt64, _ answer: PageQuery.Answer, context c: PageOwnerContext, stacks: StackReportFrames) throws {
        self.pfn = pfn
        var r: OwnerRecord?
        var buddy: UInt64?
        switch answer {
        case .noPage(let why): status = "no_page"; detail = why
        case .noPageExt: status = "no_page_ext"; detail = nil
        case .neverStamped: status = "never_set"; detail = nil
        case .record(let record, let b): r = record; buddy = b; status = record.allocated ? "allocated" : "freed"; detail = nil
        }
        head_pfn = r.map { $0.order < 64 ? $0.pfn & ~((UInt64(1) << $0.order) &- 1) : $0.pfn }
        order = r?.order
        gfp_mask = r?.gfpMask
        pid = r?.pid
        tgid = r?.tgid
        comm = r?.comm
        ts_nsec = r?.tsNsec
        free_ts_nsec = r?.freeTsNsec
        free_pid = r?.freePid
        free_tgid = r?.freeTgid
        handle = r?.handle
        stack = r.map { stacks.frames($0.handle, context: c) }
        free_handle = r?.freeHandle
        free_stack = r.flatMap { $0.freeHandle == 0 ? nil : stacks.frames($0.freeHandle, context: c) }
        let reasons = try c.names.migrateReasons
        last_migrate_reason = r.flatMap { $0.lastMigrateReason >= 0 && $0.lastMigrateReason < Int64(reasons.count) ? reasons[Int($0.lastMigrateReason)] : nil }
        buddy_order = buddy
    }
}
