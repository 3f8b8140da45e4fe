import ArgumentParser
import DepotWalker
import ELFCore

struct AllocInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocinfo",
        abstract: "Print /proc/allocinfo: bytes and live allocations per allocation call site (6.10+).",
        discussion: """
        Every allocation tag of the kernel image and of each loaded module, with the per-CPU \
        counters summed over the possible CPUs, in the kernel's format and order. Needs a \
        kernel built with CONFIG_MEM_ALLOC_PROFILING.
        """)

    @OptionGroup var files: DumpFiles

    @Option(help: "Sort largest first by bytes or calls (ties keep the kernel's order).")
    var sort: AllocTagOrderArgument?

    @Option(help: "Only the first N tags; sorts by bytes unless --sort says otherwise.")
    var top: Int?

    @Flag(help: "Sizes in K, M, G (as numfmt --to=iec) instead of bytes.")
    var human = false

    @Option(help: "Output format: text, json or csv.")
    var format: OutputFormat = .text

    func validate() throws {
        if let top, top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        try runReporting(files.vmcore) {
            let info = try AllocInfo.read(dump: files.open())
            if !info.profilingEnabled {
                Diagnostics.warn("\(files.vmcore): memory allocation profiling was off when the dump was taken (booted with sysctl.vm.mem_profiling=0 or never, or switched off later): the counters are what they were when it went off")
            }
            if let fault = info.moduleListFault {
                Diagnostics.warn("\(files.vmcore): only the kernel image's tags are listed: the list of code-tag modules is not readable (\(fault))")
            }
            if info.unreadableTags > 0 {
                Diagnostics.warn("\(files.vmcore): \(info.unreadableTags) tags are left out: their names are in memory the dump does not hold")
            }
            if info.unreadableCounters > 0 {
                Diagnostics.warn("\(files.vmcore): the per-CPU counters of \(info.unreadableCounters) tags could not be read; they show as 0")
            }
            let order = sort?.order ?? (top == nil ? nil : .bytes)
            let tags = info.ranked(by: order, top: top)
            switch format {
            case .text:
                StandardOutput.shared.write(AllocInfoText.text(tags, version: info.version, human: human))
            case .json:
                let rows = tags.map(AllocTagRow.init)
                StandardOutput.shared.write(try JSONText.encode(AllocInfoDocument(
                    version: info.version.rawValue, profiling_enabled: info.profilingEnabled,
                    total_bytes: info.tags.reduce(0) { $0 &+ $1.bytes }, tag_count: info.tags.count, tags: rows)))
            case .csv:
                var csv = "bytes,calls,file,line,module,function\n"
                for t in tags {
                    let size = human ? IECSize.format(t.bytes) : String(t.bytes)
                    csv += "\(size),\(t.calls),\(CSV.field(t.filename)),\(t.line),\(CSV.field(t.module ?? "")),\(CSV.field(t.function))\n"
                }
                StandardOutput.shared.write(csv)
            }
        }
    }
}

struct AllocTagOrderArgument: ExpressibleByArgument {
    let order: AllocTagOrder
    init?(argument: String) {
        guard let order = AllocTagOrder(rawValue: argument) else { return nil }
        self.order = order
    }
    static var allValueStrings: [String] { AllocTagOrder.allCases.map(\.rawValue) }
}

struct AllocTagRow: Codable {
    let bytes: Int64
    let calls: UInt64
    let file: String
    let line: UInt32
    let module: String?
    let function: String

    enum CodingKeys: String, CodingKey { case bytes, calls, file, line, module, function }

    /// `module` is written as null for the kernel image rather than left out.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(calls, forKey: .calls)
        try c.encode(file, forKey: .file)
        try c.encode(line, forKey: .line)
        try c.encode(module, forKey: .module)
        try c.encode(function, forKey: .function)
    }

    init(_ t: AllocTag) {
        bytes = t.bytes
        calls = t.calls
        file = t.filename
        line = t.line
        module = t.module
        function = t.function
    }
}

struct AllocInfoDocument: Codable {
    let version: String
    let profiling_enabled: Bool
    /// Over every tag, not only those listed.
    let total_bytes: Int64
    let tag_count: Int
    let tags: [AllocTagRow]
}
