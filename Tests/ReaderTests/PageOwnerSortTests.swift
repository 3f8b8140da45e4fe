import Foundation
import Testing

/// `vmowner sort` against the kernel's own tools/mm/page_owner_sort, built from Debian's
/// linux-source (scripts/page-owner-sort-tool.sh), run on vmowner's page_owner text of the same
/// dump: the two outputs are byte-equal for every option set, on simulated dumps of four kernel
/// generations and on the real 6.12 and 6.1 dumps; `--tool 6.1` against the older tool of
/// Debian's linux-source-6.1 (tools/vm) in the same way.
@Suite struct PageOwnerSortTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The reference binaries (built once per source tarball, then cached).
    static let referenceTool: Result<String, Error> = Result { try buildTool("6.12") }
    static let referenceTool61: Result<String, Error> = Result { try buildTool("6.1") }

    static func buildTool(_ version: String) throws -> String {
        let result = try Tools.runExecutable("/bin/sh", [repository.appendingPathComponent("scripts/page-owner-sort-tool.sh").path, version])
        guard result.status == 0, let path = result.text.split(separator: "\n").last.map(String.init), FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolMissing(message: "scripts/page-owner-sort-tool.sh \(version) failed (\(result.status)): \(result.stderr)")
        }
        return path
    }

    struct ToolMissing: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Option sets covering every option of the 6.12 tool. PID and TGID stand for ids the
    /// text holds (the second most common, so the select lists leave some blocks out).
    static func optionSets(pid: String, tgid: String) -> [[String]] {
        [["-a"], ["-m"], ["-n"], ["-p"], ["-P"], ["-s"], ["-t"], ["-d"],
         ["--cull", "pid"], ["--cull", "tgid"], ["--cull", "name"], ["--cull", "stacktrace"], ["--cull", "allocator"],
         ["--cull", "st,p,tg,n,ator"], ["--cull", "st", "--cull", "p"], ["-m", "--cull", "st"], ["-a", "--cull", "n,ator"],
         ["-s", "--cull", "tg"], ["-P", "--cull", "allocator,name"],
         ["--pid", pid], ["--tgid", tgid], ["--pid", "\(pid),\(tgid),0", "--tgid", "\(tgid),1"], ["--name", "swapper,dd"],
         ["--name", "kworker/0:1,insmod", "--cull", "st"], ["--pid", pid, "--cull", "st"], ["--tgid", tgid, "--name", "dd", "-m"],
         ["--pid", "-1"], ["--name", ""],
         // 6.12's tool lets the default order replace --sort lists (checked with --tool 6.12).
         ["--sort=-pid"], ["--sort", "n,+pid,-tgid"], ["--sort", "at"], ["--sort", "T"], ["--sort", "ator,st"],
         ["-a", "--sort", "-pid"], ["-m", "--sort", "p", "--cull", "p"]]
    }

    /// The second most common value of `field` ("pid" or "tgid") in the text, or -1.
    static func commonId(_ text: String, _ field: String) -> String {
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("Page allocated") {
            guard let range = line.range(of: ", \(field) ") else { continue }
            let digits = line[range.upperBound...].prefix(while: \.isNumber)
            counts[String(digits), default: 0] += 1
        }
        let sorted = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        return sorted.count > 1 ? sorted[1].key : sorted.first?.key ?? "-1"
    }

    /// Option sets covering every option of the 6.1 tool: its letters (-r by free time, -f
    /// leaving out blocks freed after their allocation), the free cull key and the free_ts
    /// sort key, time keys with other keys after them (6.1's time comparators never tie), and
    /// several letters and lists, of which the last one wins.
    static func optionSets61(pid: String, tgid: String, name: String) -> [[String]] {
        [["-a"], ["-m"], ["-n"], ["-p"], ["-P"], ["-s"], ["-t"], ["-r"], ["-f"], ["-d"],
         ["--cull", "free"], ["--cull", "f,st"], ["--cull", "pid"], ["--cull", "tgid"], ["--cull", "name"],
         ["--cull", "stacktrace"], ["--cull", "allocator"], ["--cull", "st,p,tg,n,f,ator"], ["--cull", "st", "--cull", "f"],
         ["-r", "--cull", "f"], ["-a", "--cull", "n,f"], ["-f", "--cull", "f,st"], ["-m", "--cull", "st"], ["-P", "--cull", "allocator,name"],
         ["--sort", "ft"], ["--sort", "-free_ts"], ["--sort", "at"], ["--sort", "-alloc_ts"], ["--sort", "p,at"], ["--sort", "n,-at,p"],
         ["--sort", "tg,-ft,st"], ["--sort", "st,ft"], ["--sort", "T"], ["--sort", "-txt"], ["--sort", "ator,st"], ["--sort=-pid"],
         ["--sort", "n,+pid,-tgid"], ["--sort", "at", "--cull", "p"], ["--sort", "-at", "--cull", "st,f"],
         ["-a", "-m"], ["-m", "-a"], ["-r", "-p"], ["-ap"], ["-a", "--sort", "-pid"], ["--sort", "-pid", "-a"],
         ["--sort", "p", "--sort", "-n"], ["--cull", "st", "-a"], ["-a", "--cull", "st"], ["-s", "-t", "--cull", "n"],
         ["--pid", pid], ["--tgid", tgid], ["--pid", "\(pid),\(tgid),0", "--tgid", "\(tgid),1"], ["--name", "swapper/0,\(name)"],
         ["--name", "\(name),insmod", "--cull", "st,f"], ["-f", "--pid", pid, "-r"], ["--tgid", tgid, "--name", name, "-m"],
         ["--pid", "-1"], ["--name", ""]]
    }

    /// Sets the 6.1 tool refuses: both fail.
    static let refused61: [[String]] = [["--sort", "free"], ["--cull", "free_ts"], ["--cull", "at"], ["--sort", "ft,x"]]

    /// The second most common task name in the text.
    static func commonName(_ text: String) -> String {
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("Page allocated") {
            guard let open = line.range(of: " ("), let close = line.range(of: "), ts ", range: open.upperBound..<line.endIndex) else { continue }
            counts[String(line[open.upperBound..<close.lowerBound]), default: 0] += 1
        }
        let sorted = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        return sorted.count > 1 ? sorted[1].key : sorted.first?.key ?? "swapper/0"
    }

    /// The 6.1 text with each nonzero free_ts swapped with its ts: blocks freed after their
    /// allocation, which -f leaves out (a kernel prints only pages allocated since their last
    /// free, so neither kernel text has one).
    static func swappingFreeTimes(_ text: String) -> String {
        var swapped = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            guard line.hasPrefix("Page allocated"), line.hasSuffix(" ns"), let ts = line.range(of: ", ts "),
                  let free = line.range(of: " ns, free_ts ", range: ts.upperBound..<line.endIndex) else { return line }
            let allocated = line[ts.upperBound..<free.lowerBound], freed = line[free.upperBound..<line.index(line.endIndex, offsetBy: -3)]
            guard freed != "0" else { return line }
            swapped += 1
            return line[..<ts.upperBound] + freed + " ns, free_ts " + allocated + " ns"
        }
        #expect(swapped > 0, "no block with a free time to swap")
        return lines.joined(separator: "\n")
    }

    /// The 6.1 sets for a second text of the same kernel (the real one's own capture).
    static let shortSets61: [[String]] = [["-a"], ["-r"], ["-f"], ["--cull", "allocator"], ["--cull", "st,p,tg,n,f,ator"],
                                          ["-P", "--cull", "allocator,name"], ["--sort", "p,at"], ["--sort", "-ft,n"], ["-m", "-a"]]

    /// `--tool 6.1` against the 6.1 tool on one text: every option set (or `sets`), the refused
    /// ones, and the free-time options again on the text with swapped free times (where -f has
    /// blocks to leave out).
    static func compare61(text: URL, dump: [String]?, sets: [[String]]? = nil, what: String) throws {
        let content = try String(contentsOf: text, encoding: .utf8)
        let sets = sets ?? optionSets61(pid: commonId(content, "pid"), tgid: commonId(content, "tgid"), name: commonName(content))
        #expect(try compareEverySet(text: text, dump: dump, sets: sets, what: what, tool61: true) == sets.count + 1)
        let tool = try referenceTool61.get()
        for options in refused61 {
            let reference = try Tools.runExecutable(tool, options + [text.path, "/dev/null"])
            let ours = try Tools.run("vmowner", ["sort", "--tool", "6.1"] + options + ["--text", text.path])
            #expect(reference.status != 0 && ours.status != 0, "\(what) \(options): tool \(reference.status), vmowner \(ours.status)")
        }
        let swapped = text.deletingLastPathComponent().appendingPathComponent("swapped-free-times.txt")
        try swappingFreeTimes(content).write(to: swapped, atomically: true, encoding: .utf8)
        let freeSets = [["-f"], ["-r"], ["-f", "-r"], ["-a"], ["--cull", "f"], ["-f", "--cull", "f,st"], ["--sort", "ft,at"], ["--sort", "-ft,p"]]
        _ = try compareEverySet(text: swapped, dump: nil, sets: freeSets, what: "\(what) swapped free times", tool61: true)
        let all = try Tools.run("vmowner", ["sort", "--tool", "6.1", "--text", swapped.path])
        let filtered = try Tools.run("vmowner", ["sort", "--tool", "6.1", "-f", "--text", swapped.path])
        #expect(filtered.stdout.count < all.stdout.count, "\(what): -f left every block in")
    }

    @Test func simulated61SortsLikeThe61Tool() throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", "6.1"])
        let pageOwner = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"))
        #expect(pageOwner.status == 0)
        let text = dir.appendingPathComponent("page_owner-for-sort61.txt")
        try pageOwner.stdout.write(to: text)
        try Self.compare61(text: text, dump: [dir.file("vmlinux"), dir.file("vmcore")], what: "vmsim 6.1 --tool 6.1")
    }

    /// The real 6.1 kernel: vmowner's text of the dump, and the kernel's own capture.
    @Test func real61SortsLikeThe61Tool() throws {
        let dir = try RealKernelTests.folder("6.1")
        let work = SimulatedDumps.root.appendingPathComponent("sort61-real")
        for (name, source) in [("dump", nil), ("captured", dir.file("captured/page_owner.txt"))] as [(String, String?)] {
            let folder = work.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let text = folder.appendingPathComponent("page_owner.txt")
            if let source {
                try? FileManager.default.removeItem(at: text)
                try FileManager.default.copyItem(atPath: source, toPath: text.path)
            } else {
                let pageOwner = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore.elf"))
                #expect(pageOwner.status == 0)
                try pageOwner.stdout.write(to: text)
            }
            try Self.compare61(text: text, dump: source == nil ? [dir.file("vmlinux"), dir.file("vmcore.elf")] : nil,
                               sets: source == nil ? nil : Self.shortSets61, what: "real 6.1 \(name) --tool 6.1")
        }
    }

    /// A few sets for the other dumps: the default, a letter, every cull key, a select list.
    static let shortSets: [[String]] = [["-a"], ["-m", "--cull", "st,p,tg,n,ator"], ["-s", "--cull", "ator"], ["--name", "swapper,dd,kworker/0:1"]]

    /// Runs the reference tool (6.12's, or 6.1's against `--tool 6.1`) and `vmowner sort` with
    /// every option set; returns how many sets were compared. The dump itself is read for the
    /// default set; the other sets read the text (the two inputs give the same blocks, which
    /// the default set shows).
    static func compareEverySet(text: URL, dump: [String]?, sets: [[String]], what: String, tool61: Bool = false) throws -> Int {
        let tool = try (tool61 ? referenceTool61 : referenceTool).get()
        // Named after the text: tests running at the same time share a dump's folder.
        let out = text.deletingLastPathComponent().appendingPathComponent(text.deletingPathExtension().lastPathComponent + "-sorted-by-tool.txt")
        var compared = 0
        for options in [[]] + sets {
            try? FileManager.default.removeItem(at: out)
            let reference = try Tools.runExecutable(tool, options + [text.path, out.path])
            #expect(reference.status == 0, "\(what) \(options): page_owner_sort failed: \(reference.stderr)")
            let expected = try Data(contentsOf: out)
            let ourTool = tool61 ? ["--tool", "6.1"] : options.contains(where: { $0.hasPrefix("--sort") }) ? ["--tool", "6.12"] : []
            let input = options.isEmpty ? dump ?? ["--text", text.path] : ["--text", text.path]
            let ours = try Tools.run("vmowner", ["sort"] + ourTool + options + input)
            #expect(ours.status == 0, "\(what) \(options): \(ours.stderr)")
            if options.isEmpty { #expect(expected.count > 1000, "\(what): the tool wrote \(expected.count) bytes") }
            let same = ours.stdout == expected
            #expect(same, "\(what) \(options): \(firstDifference(ours.text, String(decoding: expected, as: UTF8.self)) ?? "")")
            compared += 1
        }
        return compared
    }

    @Test(arguments: ["5.4", "6.1", "6.12", "6.19"])
    func simulatedDumpsSortLikeTheTool(kernel: String) throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", kernel])
        let pageOwner = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"))
        #expect(pageOwner.status == 0)
        let text = dir.appendingPathComponent("page_owner-for-sort.txt")
        try pageOwner.stdout.write(to: text)
        // Every option set on one generation, a few on the others.
        let sets = kernel == "6.12" ? Self.optionSets(pid: Self.commonId(pageOwner.text, "pid"), tgid: Self.commonId(pageOwner.text, "tgid")) : Self.shortSets
        let count = try Self.compareEverySet(text: text, dump: [dir.file("vmlinux"), dir.file("vmcore")], sets: sets, what: "vmsim \(kernel)")
        #expect(count == sets.count + 1)
    }

    /// The real kernels: vmowner's text of the dump, and the kernel's own capture read as text.
    @Test(arguments: ["6.12", "6.1", "6.12-arm64"])
    func realDumpsSortLikeTheTool(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        let work = SimulatedDumps.root.appendingPathComponent("sort-real-\(version)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let pageOwner = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore.elf"))
        #expect(pageOwner.status == 0)
        let text = work.appendingPathComponent("page_owner.txt")
        try pageOwner.stdout.write(to: text)
        let sets = version == "6.12" ? Self.optionSets(pid: Self.commonId(pageOwner.text, "pid"), tgid: Self.commonId(pageOwner.text, "tgid")) : Self.shortSets
        _ = try Self.compareEverySet(text: text, dump: [dir.file("vmlinux"), dir.file("vmcore.elf")], sets: sets, what: "real \(version)")

        let captureDir = work.appendingPathComponent("captured")
        try FileManager.default.createDirectory(at: captureDir, withIntermediateDirectories: true)
        let captured = captureDir.appendingPathComponent("page_owner.txt")
        try? FileManager.default.removeItem(at: captured)
        try FileManager.default.copyItem(atPath: dir.file("captured/page_owner.txt"), toPath: captured.path)
        _ = try Self.compareEverySet(text: captured, dump: nil, sets: Self.shortSets, what: "real \(version) captured")
    }

    /// The newest tool's additions, where 6.12's tool cannot be the reference: a --sort list is
    /// followed when no letter is given (a one-key list equals that key's letter in the 6.12
    /// tool), and the module key (checked against the test's own count of module frames).
    @Test func newestToolAdditions() throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", "6.19"])
        let pageOwner = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"))
        let text = dir.appendingPathComponent("page_owner-newest.txt")
        try pageOwner.stdout.write(to: text)
        let tool = try Self.referenceTool.get()
        let out = dir.appendingPathComponent("sorted-newest.txt")
        for (list, letter) in [("pid", "-p"), ("at", "-a"), ("st", "-s"), ("n", "-n"), ("tg", "-P")] {
            _ = try Tools.runExecutable(tool, [letter, text.path, out.path])
            let ours = try Tools.vmowner("sort", "--sort", list, "--text", text.path)
            let same = ours.stdout == (try Data(contentsOf: out))
            #expect(same, "--sort \(list) vs \(letter)")
        }

        // Each block counts for the module of its first module frame, or vmlinux.
        var expected: [String: Int] = [:]
        for block in pageOwner.text.components(separatedBy: "\n\n") where !block.isEmpty {
            let module = block.split(separator: "\n").first { $0.hasSuffix("]") && $0.contains(" [") }
                .map { String($0[$0.index(after: $0.lastIndex(of: "[")!)...].dropLast()) } ?? "vmlinux"
            expected[module, default: 0] += 1
        }
        #expect(expected.count >= 2, "the 6.19 machine has a module: \(expected)")
        let culled = try Tools.vmowner("sort", "--cull", "mod", "--text", text.path)
        var counted: [String: Int] = [:]
        for line in culled.text.split(separator: "\n") {
            let parts = line.components(separatedBy: " times, ")
            guard parts.count == 2, let times = Int(parts[0]), let module = parts[1].components(separatedBy: "module: ").last else { continue }
            counted[module, default: 0] += times
        }
        #expect(counted == expected)
        // --module keeps one module's blocks; -M sorts by module name.
        let onlyModule = try Tools.vmowner("sort", "--module", "brd", "--cull", "st", "--text", text.path)
        let times = onlyModule.text.split(separator: "\n").compactMap { $0.components(separatedBy: " times, ").first.flatMap { Int($0) } }
        #expect(times.reduce(0, +) == expected["brd"])
        #expect(onlyModule.text.contains(", module: brd:\n"))
        let byModule = try Tools.vmowner("sort", "-M", "--cull", "mod", "--text", text.path)
        let modules = byModule.text.split(separator: "\n").compactMap { $0.components(separatedBy: "module: ").last.map { String($0) } }
        #expect(modules == modules.sorted() && modules.count == expected.count)
    }
}
