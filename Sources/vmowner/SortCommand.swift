import ArgumentParser
import DepotWalker
import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// tools/mm/page_owner_sort, built in: the same options, the same output file, read straight
/// from the dump (or from a page_owner text file).
struct Sort: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sort page_owner like the kernel's tools/mm/page_owner_sort, from the dump.",
        discussion: """
        Prints what `page_owner_sort [OPTIONS] page_owner.txt OUT` writes to OUT for the \
        page_owner text of the dump (or of --text FILE). Blocks that are equal (or equal on the \
        --cull keys) are merged and counted; the groups are sorted by one sort letter, or by a \
        --sort key list (keys pid|p, tgid|tg, name|n, stacktrace|st, txt|T, alloc_ts|at, \
        allocator|ator, module|mod; '-' sorts descending). --cull takes pid, tgid, name, \
        stacktrace, allocator, module. --pid/--tgid/--name/--module keep the blocks whose \
        value is in the comma-separated list. --tool 6.12 answers like the tool of Linux 6.12 \
        (Debian's), whose default order replaces any --sort list and which has no module key. \
        --tool 6.1 answers like the older tool of Linux 6.1 (tools/vm): -r and --sort \
        free_ts|ft sort by free time, -f leaves out blocks freed after their allocation, --cull \
        free marks groups (RELEASED) or (UNRELEASED), the last sort letter or list wins, and \
        with none the groups keep the cull order (--cull alone sorts by times).
        """)

    @Argument(help: ArgumentHelp("[VMLINUX] VMCORE [PART...]: the dump's files, as for every command (not with --text).", valueName: "files"), completion: .file())
    var files: [String] = []

    @OptionGroup var debugInfo: DebugDirOption

    @Option(help: "Sort this page_owner text file instead of a dump's.")
    var text: String?

    @Flag(name: .customShort("a"), help: "Sort by allocation time (ascending).") var byTime = false
    @Flag(name: .customShort("m"), help: "Sort by total pages (descending).") var byPages = false
    @Flag(name: .customShort("n"), help: "Sort by task command name.") var byName = false
    @Flag(name: .customShort("p"), help: "Sort by pid.") var byPid = false
    @Flag(name: .customShort("P"), help: "Sort by tgid.") var byTgid = false
    @Flag(name: .customShort("s"), help: "Sort by stack trace.") var byStack = false
    @Flag(name: .customShort("t"), help: "Sort by times seen (descending; the default).") var byTimes = false
    @Flag(name: .customShort("M"), help: "Sort by module name (newest tool).") var byModule = false
    @Flag(name: .customShort("r"), help: "Sort by free time (6.1 tool).") var byFreeTime = false
    @Flag(name: .customShort("f"), help: "Leave out blocks freed after their allocation (6.1 tool).") var dropFreed = false
    @Flag(name: .customShort("d"), help: "The tool's debug switch (accepted; prints nothing more).") var debug = false

    @Option(name: .customLong("pid"), parsing: .unconditional, help: "Keep blocks whose pid is in this list.")
    var pidList: String?
    @Option(name: .customLong("tgid"), parsing: .unconditional, help: "Keep blocks whose tgid is in this list.")
    var tgidList: String?
    @Option(name: .customLong("name"), parsing: .unconditional, help: "Keep blocks whose task name is in this list.")
    var nameList: String?
    @Option(name: .customLong("module"), parsing: .unconditional, help: "Keep blocks whose module is in this list ('vmlinux' for none; newest tool).")
    var moduleList: String?
    @Option(parsing: .unconditionalSingleValue, help: "Merge blocks equal on these keys (repeatable; the keys add up).")
    var cull: [String] = []
    @Option(name: .customLong("sort"), parsing: .unconditional, help: "Sort by [+|-]key[,[+|-]key...].")
    var sortList: String?
    @Option(help: "Answer like this version of the tool: newest, 6.12 or 6.1.")
    var tool: SortOptions.Tool = .newest

    func validate() throws {
        if (text == nil) == files.isEmpty {
            throw ValidationError("give the dump ([VMLINUX] VMCORE), or --text FILE")
        }
        _ = try options()
    }

    func options() throws -> SortOptions {
        var o = SortOptions()
        o.tool = tool
        do {
            if !tool.hasModules, byModule || moduleList != nil {
                throw SortOptions.Invalid(description: "-M and --module are not in the \(tool.rawValue) tool")
            }
            if !tool.hasFreeTimes, byFreeTime || dropFreed {
                throw SortOptions.Invalid(description: "-r and -f are in the 6.1 tool only (--tool 6.1)")
            }
            try o.resolve(sortRequests(), culled: !cull.isEmpty)
            o.dropsFreedBlocks = dropFreed
            o.cull = try cull.flatMap(o.cullKeys)
            o.pids = try pidList.map { try SortOptions.numbers($0, option: "pid") }
            o.tgids = try tgidList.map { try SortOptions.numbers($0, option: "tgid") }
            o.names = nameList.map { SortOptions.items($0).map(String.init) }
            o.modules = moduleList.map { SortOptions.items($0).map(String.init) }
        } catch let error as SortOptions.Invalid {
            throw ValidationError(error.description)
        }
        return o
    }

    /// The sort letters given, in a fixed order, and the `--sort` list.
    private var parsedRequests: [SortOptions.Request] {
        let letters: [(Bool, Character)] = [(byTime, "a"), (byPages, "m"), (byName, "n"), (byPid, "p"), (byTgid, "P"),
                                            (byStack, "s"), (byTimes, "t"), (byModule, "M"), (byFreeTime, "r")]
        return letters.filter(\.0).map { .letter($0.1) } + (sortList.map { [.list($0)] } ?? [])
    }

    /// The sort letters and `--sort` lists in command-line order, where the last one wins (the
    /// 6.1 tool). The parser keeps no order between options, so the process's own arguments
    /// are read again with the same grammar; when they do not give the letters and last list
    /// that were parsed (the command was not run from them), the parsed ones serve.
    func sortRequests() -> [SortOptions.Request] {
        let parsed = parsedRequests
        let arguments = CommandLine.arguments
        guard arguments.count > 1, arguments[1] == "sort" else { return parsed }
        let scanned = Self.orderedRequests(Array(arguments.dropFirst(2)))
        let letters = { (r: [SortOptions.Request]) in Set(r.compactMap { if case .letter(let c) = $0 { c } else { nil } }) }
        let lastList = { (r: [SortOptions.Request]) in r.last { if case .list = $0 { true } else { false } } }
        return letters(scanned) == letters(parsed) && lastList(scanned) == lastList(parsed) ? scanned : parsed
    }

    /// Sort letters (alone or grouped, as in `-ad`) and `--sort` lists in the order given;
    /// the options that take a value take the next word, or what follows their '='.
    static func orderedRequests(_ arguments: [String]) -> [SortOptions.Request] {
        let takesValue: Set<Substring> = ["--text", "--tool", "--pid", "--tgid", "--name", "--module", "--cull", "--sort"]
        var requests: [SortOptions.Request] = []
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            i += 1
            if word == "--" { break }
            if word.hasPrefix("--") {
                let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard takesValue.contains(parts[0]) else { continue }
                var value = parts.count > 1 ? String(parts[1]) : nil
                if value == nil, i < arguments.count { value = arguments[i]; i += 1 }
                if parts[0] == "--sort", let value { requests.append(.list(value)) }
            } else if word.hasPrefix("-") {
                requests += word.dropFirst().filter { SortOptions.letterKey($0) != nil }.map { .letter($0) }
            }
        }
        return requests
    }

    func run() throws {
        let sorter = PageOwnerSort(options: try options())
        if let text {
            try runReporting(text) {
                try Self.feed(file: text, to: sorter)
                finish(sorter, input: text)
            }
            return
        }
        let input = DumpInput(paths: files, debugInfo: debugInfo.locator, btf: debugInfo.btf)
        let vmcore = input.vmcore
        try runReporting(vmcore) {
            let context = try input.openPageOwner()
            let warnings = try PageOwnerText(context: context).write(to: sorter)
            if warnings.unreadable > 0 { Diagnostics.warn("\(warnings.unreadable) pages or stacks could not be read from \(vmcore); the input is partial") }
            Diagnostics.warnAboutSymbols(context.symbolizer, vmcore: vmcore)
            finish(sorter, input: vmcore)
        }
    }

    private func finish(_ sorter: PageOwnerSort, input: String) {
        if sorter.stoppedEarly { Diagnostics.warn("\(input): a block longer than 128 KiB ends the input, as in page_owner_sort") }
        sorter.finish(to: StandardOutput.shared)
    }

    /// Reads the file in pieces (a live capture can be hundreds of megabytes).
    static func feed(file path: String, to sorter: PageOwnerSort) throws {
        guard let f = fopen(path, "rb") else {
            throw InputError(file: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(f) }
        let size = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = fread(buffer, 1, size, f)
            if n > 0 { sorter.write(UnsafeRawBufferPointer(start: buffer, count: n)) }
            if n < size {
                if ferror(f) != 0 { throw InputError(file: path, reason: "read error") }
                break
            }
        }
    }
}

extension SortOptions.Tool: ExpressibleByArgument {}
