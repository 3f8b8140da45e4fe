import Foundation
import Testing

/// `vmowner sort` against the kernel's own tools/mm/page_owner_sort, built from Debian's
/// linux-source (scripts/page-owner-sort-tool.sh), run on vmowner's page_owner text of the same
/// dump: the two outputs are byte-equal for every option set, on simulated dumps of four kernel
/// generations and on the real 6.12 and 6.1 dumps.
@Suite struct PageOwnerSortTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The reference binary (built once per source tarball, then cached).
    static let referenceTool: Result<String, Error> = Result {
        let result = try Tools.runExecutable("/bin/sh", [repository.appendingPathComponent("scripts/page-owner-sort-tool.sh").path, "6.12"])
        guard result.status == 0, let path = result.text.split(separator: "\n").last.map(String.init), FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolMissing(message: "scripts/page-owner-sort-tool.sh failed (\(result.status)): \(result.stderr)")
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

    /// A few sets for the other dumps: the default, a letter, every cull key, a select list.
    static let shortSets: [[String]] = [["-a"], ["-m", "--cull", "st,p,tg,n,ator"], ["-s", "--cull", "ator"], ["--name", "swapper,dd,kworker/0:1"]]

    /// Runs the reference tool and `vmowner sort` with every option set; returns how many
    /// sets were compared. The dump itself is read for the default set; the other sets read
    /// the text (the two inputs give the same blocks, which the default set shows).
    static func compareEverySet(text: URL, dump: [String]?, sets: [[String]], what: String) throws -> Int {
        let tool = try referenceTool.get()
        let out = text.deletingLastPathComponent().appendingPathComponent("sorted-by-tool.txt")
        var compared = 0
        for options in [[]] + sets {
            try? FileManager.default.removeItem(at: out)
            let reference = try Tools.runExecutable(tool, options + [text.path, out.path])
            #expect(reference.status == 0, "\(what) \(options): page_owner_sort failed: \(reference.stderr)")
            let expected = try Data(contentsOf: out)
            let tool612 = options.contains(where: { $0.hasPrefix("--sort") }) ? ["--tool", "6.12"] : []
            let input = options.isEmpty ? dump ?? ["--text", text.path] : ["--text", text.path]
            let ours = try Tools.run("vmowner", ["sort"] + tool612 + options + input)
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
